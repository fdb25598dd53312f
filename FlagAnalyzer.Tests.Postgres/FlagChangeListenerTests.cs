using System.Net.Http.Json;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// Each replica's listener on PostgreSQL's change-feed notifications, without Redis (where nothing else tells a replica of
/// another's writes) and with the feed poll set to an hour, so that only the notification (or the wake-up after the
/// listener reconnects) can explain what is seen.
/// </summary>
public sealed class FlagChangeListenerTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ApiFactory _a = NoSafetyNet(new ApiFactory());
    private readonly ApiFactory _b;

    public FlagChangeListenerTests() => _b = NoSafetyNet(new ApiFactory(_a.DatabasePath));

    private static ApiFactory NoSafetyNet(ApiFactory app)
    {
        app.Settings["Evaluation:FeedPollMilliseconds"] = "3600000";
        return app;
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task WithoutRedis_AChangeAndADeleteOnOneReplica_SwapTheOthersSnapshot_OnTheirCommitNotification()
    {
        var a = _a.CreateClient();
        var b = _b.CreateClient();
        await WhenListening(_b);
        var created = await (await a.PostJson("/api/flags", new { name = "heard", enabled = false, rolloutPercentage = 100 })).ReadJson();
        var id = created.GetProperty("id").GetString()!;
        await WhenSnapshot(_b, s => s.TryGet("heard", out var f) && f.Version == 1).WaitAsync(Timeout);

        var enabled = WhenSnapshot(_b, s => s.TryGet("heard", out var f) && f.Version == 2 && f.Enabled);
        (await a.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = true }, ApiFactory.JsonOptions)).EnsureSuccessStatusCode();
        await enabled.WaitAsync(Timeout);
        Assert.True((await (await b.PostAsJsonAsync("/ofrep/v1/evaluate/flags/heard", new { context = new { targetingKey = "u" } })).ReadJson())
            .GetProperty("value").GetBoolean());

        var gone = WhenSnapshot(_b, s => !s.TryGet("heard", out _));
        (await a.DeleteAsync($"/api/flags/{id}")).EnsureSuccessStatusCode();
        await gone.WaitAsync(Timeout);
    }

    [Fact]
    public async Task ListenerConnectionLost_HealthSaysSoWithTheReason_ThenItListensAgainAndReloadsWhatWasCommittedMeanwhile()
    {
        var client = _a.CreateClient();
        await WhenListening(_a);
        var id = (await (await client.PostJson("/api/flags", new { name = "missed", enabled = false, rolloutPercentage = 100 })).ReadJson())
            .GetProperty("id").GetString()!;
        Assert.Equal("Healthy", (await Check(client)).GetProperty("status").GetString());

        var database = new NpgsqlConnectionStringBuilder(_a.DatabasePath).Database!;
        // connections opened before the database refuses new ones: one to it, one beside it to allow them again
        await using var data = (NpgsqlConnection)await TestDatabase.OpenAsync(_a.DatabasePath);
        await using var admin = (NpgsqlConnection)await TestDatabase.OpenAsync(
            new NpgsqlConnectionStringBuilder(_a.DatabasePath) { Database = "postgres" }.ConnectionString);
        var down = WhenState(_a, listening: false);
        // the database stops taking connections and the listener's is cut: it cannot come back until we allow it
        await Exec(admin, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false");
        try
        {
            Assert.Equal(1L, await Scalar(admin, $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity " +
                $"WHERE application_name = '{FlagChangeListener.ApplicationName}' AND datname = '{database}'"));
            await down.WaitAsync(Timeout);
            var check = await Check(client);
            Assert.Equal("Degraded", check.GetProperty("status").GetString());
            Assert.StartsWith("degraded: not listening for flag changes on PostgreSQL since", check.GetProperty("description").GetString());
            // committed while nobody listens (and behind the API's back, so with no notification at all): the flag row,
            // its change row with the next revision and its outbox row, as a writer's transaction leaves them
            await CommitUnannounced(data, await (await client.GetAsync($"/api/flags/{id}")).ReadAs<Flag>());
        }
        finally
        {
            await Exec(admin, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
        }

        var reloaded = WhenSnapshot(_a, s => s.TryGet("missed", out var f) && f.Version == 2 && f.Enabled);
        await WhenListening(_a);
        await reloaded.WaitAsync(Timeout);
        Assert.Equal("Healthy", (await Check(client)).GetProperty("status").GetString());
    }

    private static async Task CommitUnannounced(NpgsqlConnection conn, Flag before)
    {
        var after = before with { Enabled = true, Version = before.Version + 1 };
        await using var tx = await conn.BeginTransactionAsync();
        await using (var update = new NpgsqlCommand($"UPDATE feature_flags SET enabled = true, version = version + 1 WHERE id = '{before.Id}'", conn, tx))
            await update.ExecuteNonQueryAsync();
        long revision;
        await using (var next = new NpgsqlCommand("UPDATE feed_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision", conn, tx))
            revision = (long)(await next.ExecuteScalarAsync())!;
        var change = new FlagChange { Id = FlagAnalyzer.Api.Common.Ids.New("chg"), FlagId = before.Id, FlagName = before.Name, ChangeType = ChangeType.Enabled };
        var payload = System.Text.Json.Nodes.JsonNode.Parse(FlagAnalyzer.Api.Common.Json.Serialize(new FeedEntry(revision, change, after, false)))!;
        payload["change"]!["revision"] = revision;
        await using (var log = new NpgsqlCommand($"""
            INSERT INTO flag_changes(id, flag_id, flag_name, change_type, changed_by, environment, timestamp, revision)
            VALUES ('{change.Id}', '{before.Id}', '{before.Name}', 'enabled', 'test', '{before.TargetEnvironment}', 0, {revision});
            INSERT INTO flag_outbox(revision, flag_id, environment, payload, created_at, lease_owner, lease_until, dispatched_at)
            VALUES ({revision}, '{before.Id}', '{before.TargetEnvironment}', @payload, 0, NULL, 0, 0)
            """, conn, tx))
        {
            log.Parameters.AddWithValue("payload", payload.ToJsonString());
            await log.ExecuteNonQueryAsync();
        }
        await tx.CommitAsync();
    }

    private static async Task<System.Text.Json.JsonElement> Check(HttpClient client) =>
        (await (await client.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("flag-notifications");

    private static Task WhenListening(ApiFactory app) => WhenState(app, listening: true).WaitAsync(Timeout);

    private static Task WhenState(ApiFactory app, bool listening)
    {
        var listener = app.Services.GetRequiredService<FlagChangeListener>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.StateChanged += s => { if (s.Listening == listening) done.TrySetResult(); };
        if (listener.State.Listening == listening) done.TrySetResult();
        return done.Task;
    }

    /// <summary>Completes when the replica's snapshot satisfies <paramref name="condition"/>.</summary>
    private static Task WhenSnapshot(ApiFactory app, Func<FlagSnapshot, bool> condition)
    {
        var store = app.Services.GetRequiredService<FlagSnapshotStore>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Swapped += s => { if (condition(s)) done.TrySetResult(); };
        if (condition(store.Current)) done.TrySetResult();
        return done.Task;
    }

    private static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<object?> Scalar(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteScalarAsync();
    }
}
