using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// <c>POST /api/flags/change</c> cannot falsify the change log: the server derives the change type and the previous
/// value from the flag as it was and as it becomes, refuses a change type that says otherwise, and logs nothing
/// for a change that changes nothing (so no detection baseline moves).
/// </summary>
public sealed class ChangeLogTruthTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public ChangeLogTruthTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<Flag> NewFlag(string name, bool enabled, double rollout = 0) =>
        await (await _client.PostJson("/api/flags", new { name, enabled, rolloutPercentage = rollout })).ReadAs<Flag>();

    private async Task<JsonElement[]> Changes(string flagId) =>
        [.. (await (await _client.GetAsync($"/api/flags/{flagId}/changes")).ReadJson()).GetProperty("items").EnumerateArray()];

    private async Task<Flag> Current(string flagId) => await (await _client.GetAsync($"/api/flags/{flagId}")).ReadAs<Flag>();

    [Fact]
    public async Task ChangeTypeContradictingTheChange_Is400NamingChangeType_AndChangesNothing()
    {
        var flag = await NewFlag("ks-lie", enabled: true);

        var response = await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "enabled", newValue = new { enabled = false } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadJson()).GetProperty("errors");
        Assert.Equal(["changeType"], errors.EnumerateObject().Select(p => p.Name));
        Assert.Contains("disabled", errors.GetProperty("changeType")[0].GetString());
        Assert.True((await Current(flag.Id)).Enabled);
        Assert.Single(await Changes(flag.Id)); // only "created"
    }

    [Theory]
    [InlineData(true, 0, "disabled", """{"enabled":true}""")]
    [InlineData(false, 0, "rollout_changed", """{"enabled":true,"rolloutPercentage":10}""")]
    [InlineData(true, 10, "enabled", """{"rolloutPercentage":20}""")]
    [InlineData(true, 10, "updated", """{"enabled":false}""")]
    public async Task EveryContradiction_Is400(bool enabled, double rollout, string claimed, string newValue)
    {
        var flag = await NewFlag($"lie-{claimed.Replace('_', '-')}-{enabled}".ToLowerInvariant(), enabled, rollout);

        var response = await _client.PostRaw("/api/flags/change", $$"""{"flagId":"{{flag.Id}}","changeType":"{{claimed}}","newValue":{{newValue}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("changeType", out _));
        Assert.Equal(flag.Version, (await Current(flag.Id)).Version);
    }

    [Fact]
    public async Task PreviousValue_IsTheRealOne_NotTheClaimedOne()
    {
        var flag = await NewFlag("prev", enabled: false, rollout: 30);

        var body = await (await _client.PostJson("/api/flags/change", new
        {
            flagId = flag.Id,
            changeType = "enabled",
            previousValue = new { enabled = true, rolloutPercentage = 99 },
            newValue = new { enabled = true, rolloutPercentage = 40 },
        })).ReadJson();

        var change = body.GetProperty("change");
        Assert.Equal("enabled", change.GetProperty("changeType").GetString());
        var previous = change.GetProperty("previousValue");
        Assert.False(previous.GetProperty("enabled").GetBoolean());
        Assert.Equal(30, previous.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(40, change.GetProperty("newValue").GetProperty("rolloutPercentage").GetDouble());
        // the stored row says the same
        var logged = (await Changes(flag.Id))[0];
        Assert.Equal(30, logged.GetProperty("previousValue").GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task ChangeTypeMatchingTheChange_IsLogged_ForEachKind()
    {
        var flag = await NewFlag("derive", enabled: false);

        // the seed's rule stays: "enabled" without newValue.enabled means switch it on
        var on = await (await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "enabled" })).ReadJson();
        var moved = await (await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "rollout_changed", newValue = new { rolloutPercentage = 25 } })).ReadJson();
        var described = await (await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "updated", newValue = new { description = "why" } })).ReadJson();
        var off = await (await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "disabled" })).ReadJson();

        Assert.Equal(["enabled", "rollout_changed", "updated", "disabled"],
            new[] { on, moved, described, off }.Select(b => b.GetProperty("change").GetProperty("changeType").GetString()));
    }

    [Fact]
    public async Task ChangeThatChangesNothing_WritesNoRow_AndMovesNoBaseline()
    {
        var flag = await NewFlag("noop", enabled: false);
        var before = await Changes(flag.Id);

        var response = await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "disabled", changedBy = "ops" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJson();
        Assert.Equal(JsonValueKind.Null, body.GetProperty("change").ValueKind);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("prediction").ValueKind);
        Assert.Equal(before.Length, (await Changes(flag.Id)).Length);
        Assert.Equal(flag.Version, (await Current(flag.Id)).Version);
        Assert.Empty((await (await _client.GetAsync($"/api/predictions?flagId={flag.Id}")).ReadJson()).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task RolledBack_IsAcceptedForAnyRealChange()
    {
        var flag = await NewFlag("rb", enabled: true, rollout: 50);

        var body = await (await _client.PostJson("/api/flags/change", new { flagId = flag.Id, changeType = "rolled_back", newValue = new { rolloutPercentage = 5 } })).ReadJson();

        Assert.Equal("rolled_back", body.GetProperty("change").GetProperty("changeType").GetString());
        Assert.Equal(5, (await Current(flag.Id)).RolloutPercentage);
    }
}
