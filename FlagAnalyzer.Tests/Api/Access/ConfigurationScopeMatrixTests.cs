using System.Net;
using System.Text;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>
/// Issue 26 item 4: role × scope against a flag's configurations. A key scoped to staging reads and (editor, admin) changes
/// staging's configuration of ANY flag — here one whose home is production — and never production's.
/// </summary>
public sealed class ConfigurationScopeMatrixTests : IDisposable
{
    private readonly ApiFactory _app = new() { Settings = { ["Auth:WriteBurst"] = "100000" } };

    public void Dispose() => _app.Dispose();

    /// <summary>(role, scope, GET staging, GET production, PATCH staging, PATCH production).</summary>
    public static readonly (string Role, string? Scope, int GetStaging, int GetProduction, int PatchStaging, int PatchProduction)[] Rows =
    [
        ("viewer", null, 200, 200, 403, 403),
        ("editor", null, 200, 200, 200, 200),
        ("admin", null, 200, 200, 200, 200),
        ("viewer", "staging", 200, 403, 403, 403),
        ("editor", "staging", 200, 403, 200, 403),
        ("admin", "staging", 200, 403, 200, 403),
    ];

    [Fact]
    public async Task EveryRoleAndScope_ReadsAndChangesTheConfigurationsTheTableSays_AndAScopedKeyNeverProductions()
    {
        var admin = _app.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJson("/api/flags", new { name = "scope-cfg", targetEnvironment = "production", enabled = true, rolloutPercentage = 50 })).StatusCode);
        var failures = new List<string>();
        var rollout = 0;
        foreach (var (role, scope, getStaging, getProduction, patchStaging, patchProduction) in Rows)
        {
            var client = _app.CreateClient().WithKey((await admin.CreateKeyAsync(role, scope)).Secret);
            var who = $"{role}/{scope ?? "unscoped"}";
            async Task Check(string what, int expected, Func<Task<HttpResponseMessage>> send)
            {
                var productionBefore = await Production(admin);
                using var response = await send();
                if ((int)response.StatusCode != expected)
                    failures.Add($"{who} {what}: expected {expected}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                else if (expected == 403 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                    failures.Add($"{who} {what}: 403 without application/problem+json");
                if (expected != 200 && (await Production(admin)).GetProperty("version").GetInt64() != productionBefore.GetProperty("version").GetInt64())
                    failures.Add($"{who} {what}: production's configuration changed");
            }
            await Check("GET staging", getStaging, () => client.GetAsync("/api/flags/scope-cfg/environments/staging"));
            await Check("GET production", getProduction, () => client.GetAsync("/api/flags/scope-cfg/environments/production"));
            await Check("PATCH staging", patchStaging, () => Patch(client, "staging", ++rollout));
            await Check("PATCH production", patchProduction, () => Patch(client, "production", ++rollout));
            if (scope is not null)
            {
                // without its environment named, a scoped key reaches the flag by its home (issue 23): not this one
                await Check("GET list", 404, () => client.GetAsync("/api/flags/scope-cfg/environments"));
                using var own = await client.GetAsync("/api/flags/scope-cfg/environments?environment=staging");
                var items = JsonDocument.Parse(await own.Content.ReadAsStringAsync()).RootElement.GetProperty("items").EnumerateArray()
                    .Select(i => i.GetProperty("environment").GetString()).ToList();
                if (items is not ["staging"]) failures.Add($"{who} GET list ?environment=staging: {string.Join(",", items)}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // the rows that may change production did: the check above can fail
        Assert.True((await Production(admin)).GetProperty("version").GetInt64() > 1);
    }

    private static async Task<JsonElement> Production(HttpClient admin) =>
        JsonDocument.Parse(await (await admin.GetAsync("/api/flags/scope-cfg/environments/production")).Content.ReadAsStringAsync()).RootElement.Clone();

    private static Task<HttpResponseMessage> Patch(HttpClient client, string environment, int rollout) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/api/flags/scope-cfg/environments/{environment}")
        {
            Content = new StringContent($$"""{"rolloutPercentage":{{rollout}}}""", Encoding.UTF8, "application/json"),
        });
}
