using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// PostgreSQL write transactions lock per flag (<see cref="WriteLock"/>), not the whole store: the test holds one flag's
/// lock in a transaction of its own, as another replica's write to that flag would, and watches what waits for it.
/// </summary>
public sealed class FlagWriteLockTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public FlagWriteLockTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task WhileOneFlagsWriteIsOpen_AnotherFlagsChangeAndSamplesCommit_AndAChangeToTheSameFlagWaitsForIt()
    {
        var held = await (await _client.PostJson("/api/flags", new { name = $"held-{Guid.NewGuid():N}"[..20] })).ReadAs<Flag>();
        var other = await (await _client.PostJson("/api/flags", new { name = $"other-{Guid.NewGuid():N}"[..20] })).ReadAs<Flag>();

        Task<HttpResponseMessage> sameFlag;
        await using (await new Db(_app.DatabasePath).BeginWriteAsync(WriteLock.Flag(held.Id)))
        {
            // another flag: its change and its samples commit while the held flag's transaction is open
            var patch = await _client.PatchAsJsonAsync($"/api/flags/{other.Id}", new { description = "changed meanwhile" }).WaitAsync(Wait.Arrival);
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            var samples = await _client.PostJson("/api/metrics", new { flagId = other.Id, errorRate = 0.5, latencyP50 = 40, latencyP99 = 400, requestCount = 1000 })
                .WaitAsync(Wait.Arrival);
            Assert.Equal(HttpStatusCode.OK, samples.StatusCode);

            // the held flag, by name: the write resolves it, then waits for its lock
            sameFlag = _client.PatchAsJsonAsync($"/api/flags/{held.Name}", new { description = "after the holder" });
            Assert.True(await Wait.Until(async () => await WaitingForAsync(held.Id) >= 1, Wait.Arrival),
                "the change to the held flag never waited for the flag's lock");
            Assert.False(sameFlag.IsCompleted, "the change to the held flag completed while its lock was held");
        }
        var after = await sameFlag.WaitAsync(Wait.Arrival);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(2, (await after.ReadAs<Flag>()).Version);
    }

    [Fact]
    public async Task TwoFlagsLockedTogether_TakeTheirKeysInOneOrder_WhicheverWayTheyAreNamed()
    {
        var (a, b) = ($"flg-{Guid.NewGuid():N}", $"flg-{Guid.NewGuid():N}");
        Assert.Equal(WriteLock.Flags([a, b]).Keys, WriteLock.Flags([b, a, b]).Keys);
        Assert.Equal(WriteLock.Flags([a, b]).Keys.Order(), WriteLock.Flags([a, b]).Keys);

        // one transaction holds both; a second one for the two, named the other way round, waits and then gets both
        var db = new Db(_app.DatabasePath);
        Task<WriteScope> second;
        await using (await db.BeginWriteAsync(WriteLock.Flags([a, b])))
        {
            second = db.BeginWriteAsync(WriteLock.Flags([b, a]));
            Assert.True(await Wait.Until(async () => await WaitingForAsync(a) + await WaitingForAsync(b) >= 1, Wait.Arrival),
                "the second transaction never waited for the pair");
            Assert.False(second.IsCompleted);
        }
        await using var got = await second.WaitAsync(Wait.Arrival);
        Assert.True(got.Holds(a) && got.Holds(b));
    }

    [Fact]
    public async Task AFlagWrittenInATransactionWithoutItsLock_IsRefused()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = $"unlocked-{Guid.NewGuid():N}"[..20] })).ReadAs<Flag>();
        var service = _app.Services.GetRequiredService<FlagService>();

        await using var s = await new Db(_app.DatabasePath).BeginWriteAsync(WriteLock.Flag($"flg-{Guid.NewGuid():N}"));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            service.MutateAsync(s, new FlagMutationRequest(flag, flag with { Enabled = true }, "test"), CancellationToken.None));
        Assert.Contains(flag.Id, refused.Message);
    }

    /// <summary>Transactions of this database waiting for the advisory key of <paramref name="flagId"/>'s lock.</summary>
    private Task<long> WaitingForAsync(string flagId)
    {
        var key = Assert.Single(WriteLock.Flag(flagId).Keys);
        // a bigint advisory key shows as its high half in classid, its low half in objid (objsubid 1)
        return TestDatabase.ScalarAsync(_app.DatabasePath, $"""
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
              AND classid = {(uint)(key >> 32)} AND objid = {(uint)key}
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """);
    }
}
