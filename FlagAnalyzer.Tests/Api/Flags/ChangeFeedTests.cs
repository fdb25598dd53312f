using System.Globalization;
using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// The change feed (issue 25): every committed change has a revision, <c>GET /api/flags/changes?afterRevision=N</c> pages
/// them in revision order, and what a writer committed reaches every consumer even when the writer never dispatched it.
/// </summary>
public sealed class ChangeFeedTests : IAsyncLifetime
{
    private readonly ApiFactory _app = new() { Settings = { ["Auth:WriteBurst"] = "100000" } };
    private HttpClient _admin = null!;

    public Task InitializeAsync()
    {
        _admin = _app.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private async Task<Flag> Create(HttpClient client, string name, string environment = "development") =>
        await (await client.PostJson("/api/flags", new { name, targetEnvironment = environment })).ReadAs<Flag>();

    /// <summary>Follows the feed from <paramref name="after"/> through every page, as a client would.</summary>
    private static async Task<List<FlagChange>> Follow(HttpClient client, long after, int limit)
    {
        var seen = new List<FlagChange>();
        string? cursor = null;
        var pages = 0;
        do
        {
            // a feed whose pages repeat would never end: bounded, and failing, rather than hanging the run
            Assert.True(++pages <= 1_000, $"the feed did not end after {pages - 1} pages: a page repeats what came before");
            var page = await (await client.GetAsync($"/api/flags/changes?afterRevision={after}&limit={limit}" + (cursor is null ? "" : $"&cursor={cursor}")))
                .ReadAs<Page<FlagChange>>();
            Assert.True(page.Items.Count <= limit);
            seen.AddRange(page.Items);
            cursor = page.NextCursor;
        } while (cursor is not null);
        return seen;
    }

    [Fact]
    public async Task Feed_AfterARevision_ListsEveryLaterChangeOnce_InRevisionOrder_AcrossPages()
    {
        var flags = new List<Flag>();
        for (var i = 0; i < 3; i++) flags.Add(await Create(_admin, Name($"feed{i}")));
        await _admin.PatchAsync($"/api/flags/{flags[0].Id}", RedisReplicas.Body(new { enabled = true }));
        await _admin.PatchAsync($"/api/flags/{flags[1].Id}", RedisReplicas.Body(new { rolloutPercentage = 30 }));
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/flags/{flags[2].Id}")).StatusCode);

        var log = (await (await _admin.GetAsync("/api/flags/changes?limit=500")).ReadAs<Page<FlagChange>>()).Items;
        var feed = await Follow(_admin, 0, 2);

        // the same changes as the log, each once, revisions strictly increasing and in the log's (commit) order
        Assert.Equal(log.Select(c => c.Id).Reverse(), feed.Select(c => c.Id));
        Assert.Equal(feed.Select(c => c.Revision).Order(), feed.Select(c => c.Revision));
        Assert.Equal(feed.Count, feed.Select(c => c.Revision).Distinct().Count());
        Assert.All(feed, c => Assert.True(c.Revision > 0));
        Assert.Equal(ChangeType.Deleted, feed[^1].ChangeType);

        // after a revision: exactly the later ones
        var later = await Follow(_admin, feed[2].Revision, 500);
        Assert.Equal(feed.Skip(3).Select(c => c.Id), later.Select(c => c.Id));
        Assert.Empty(await Follow(_admin, feed[^1].Revision, 500));
    }

    [Fact]
    public async Task AChange_AnswersWithTheRevisionTheFeedGivesIt()
    {
        var flag = await Create(_admin, Name("rev"));
        var response = await (await _admin.PostJson("/api/flags/change",
            new { flagId = flag.Id, changeType = "enabled", newValue = new { enabled = true } })).ReadAs<JsonElement>();
        var revision = response.GetProperty("change").GetProperty("revision").GetInt64();

        var inFeed = (await Follow(_admin, revision - 1, 1)).First();
        Assert.Equal((revision, response.GetProperty("change").GetProperty("id").GetString()), (inFeed.Revision, inFeed.Id));
    }

    [Fact]
    public async Task Feed_ForAScopedKey_HoldsOnlyItsEnvironmentsChanges_DeletesIncluded()
    {
        var staging = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("viewer", "staging")).Secret);
        var inStaging = await Create(_admin, Name("stg"), "staging");
        var inProduction = await Create(_admin, Name("prd"), "production");
        await _admin.PatchAsync($"/api/flags/{inProduction.Id}", RedisReplicas.Body(new { enabled = true }));
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/flags/{inStaging.Id}")).StatusCode);

        var seen = await Follow(staging, 0, 500);

        Assert.Equal([ChangeType.Created, ChangeType.Deleted], seen.Where(c => c.FlagId == inStaging.Id).Select(c => c.ChangeType));
        Assert.All(seen, c => Assert.Equal("staging", c.Environment));
        Assert.DoesNotContain(seen, c => c.FlagId == inProduction.Id);
    }

    [Theory]
    [InlineData("afterRevision=abc")]
    [InlineData("afterRevision=-1")]
    [InlineData("afterRevision=1.5")]
    [InlineData("afterRevision=")]
    public async Task Feed_WithABadAfterRevision_Is400NamingIt(string query)
    {
        var response = await _admin.GetAsync($"/api/flags/changes?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("afterRevision", out _), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Feed_WithACursorThatIsNotARevision_Is400NamingIt()
    {
        var response = await _admin.GetAsync($"/api/flags/changes?afterRevision=0&cursor={Paging.Encode("chg_x")}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("cursor", out _));
    }

    [Fact]
    public async Task AChangeCommittedButNeverDispatched_ByAWriterThatDied_IsDispatchedByAnotherReplica_AndReachesItsSnapshot()
    {
        var live = new LiveRecorder();
        // the writer commits and answers but never dispatches: what a crash right after its commit leaves behind. The two
        // replicas get a database of their own: any replica may drain an expired row, and the class's shared app would
        // race the one this test listens on
        await using var writer = new ApiFactory()
        {
            Settings = { ["ChangeFeed:DispatchAfterCommit"] = "false", ["ChangeFeed:LeaseSeconds"] = "1", ["ChangeFeed:DrainSeconds"] = "3600" },
        };
        var other = new ApiFactory(writer.DatabasePath)
        {
            Settings = { ["ChangeFeed:LeaseSeconds"] = "1", ["ChangeFeed:DrainSeconds"] = "0.2" },
            ConfigureServices = s => s.AddSingleton<ILiveEventSink>(live),
        };
        await using var otherApp = other;
        var otherClient = other.CreateClient();
        var flag = await Create(writer.CreateClient(), Name("orphan"));
        var changeId = (await (await otherClient.GetAsync($"/api/flags/{flag.Id}/changes")).ReadAs<Page<FlagChange>>()).Items.Single().Id;

        var changed = await live.WaitForAsync(e => e.Type == LiveEventTypes.FlagChanged && e.FlagId == flag.Id);
        Assert.Equal(changeId, ((FlagChange)changed.Payload).Id);
        Assert.True(((FlagChange)changed.Payload).Revision > 0);
        Assert.Contains(live.Events, e => e.Type == LiveEventTypes.FlagCreated && e.FlagId == flag.Id);
        Assert.True(await Wait.Until(async () => await TestDatabase.ScalarAsync(writer.DatabasePath,
            "SELECT COUNT(*) FROM flag_outbox WHERE dispatched_at IS NULL") == 0), "the outbox row was never marked dispatched");
        Assert.Equal(flag.Id, (await (await otherClient.GetAsync($"/api/flags/{flag.Name}")).ReadAs<Flag>()).Id);
        Assert.True(other.Services.GetRequiredService<FlagAnalyzer.Api.Evaluation.IFlagSnapshot>().Current.TryGet(flag.Key, out _));
    }
}
