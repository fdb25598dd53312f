using System.Data.Common;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// One committed change as the feed carries it: its revision, the change row, and the flag after it (for a delete, the
/// flag as it was). This is the outbox row's payload, so a replica that did not make the change can still apply it.
/// </summary>
public sealed record FeedEntry(long Revision, FlagChange Change, Flag Flag, bool Deleted)
{
    /// <summary>
    /// Every configuration of the flag after the change (issue 26), so a replica updates each environment's view of it from
    /// the entry alone; null for a delete, and in entries written before configurations existed (the flag's own fields are
    /// then its home configuration).
    /// </summary>
    public IReadOnlyList<FlagConfiguration>? Configurations { get; init; }

    /// <summary>The configuration of <paramref name="environment"/> this entry carries, if any.</summary>
    public FlagConfiguration? ConfigurationOf(string environment) => Configurations?.FirstOrDefault(c => c.Environment == environment);

    /// <summary>
    /// The prediction as the writer made it, in the writer's process only: it is not in the payload (a predictor's state
    /// is its own), so an entry dispatched from the outbox by another process has none and its refinement is skipped.
    /// </summary>
    [JsonIgnore]
    public PredictedChange? Prediction { get; init; }
}

/// <summary>
/// A consumer that must see each committed change once for the whole deployment (live events, prediction refinement,
/// cross-replica announcement, later webhooks). Delivery is at least once: a subscriber may see a revision twice (a
/// dispatcher that died after delivering, before marking the row) and must treat a repeated revision as done.
/// Per-replica state (the snapshot) does not subscribe here: each replica follows the feed by revision itself.
/// </summary>
public interface IChangeFeedSubscriber
{
    ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct);
}

/// <summary><c>ChangeFeed</c> configuration.</summary>
public sealed class ChangeFeedOptions
{
    /// <summary>
    /// <c>ChangeFeed:LeaseSeconds</c>: how long the replica that wrote (or claimed) an outbox row has to dispatch it before
    /// another replica, or the next start, takes it over: the longest a crash between commit and dispatch delays the
    /// global consumers (live events, refinement). Per-replica snapshots do not wait for it.
    /// </summary>
    public double LeaseSeconds { get; set; } = 10;

    /// <summary><c>ChangeFeed:DrainSeconds</c>: how often each replica looks for outbox rows whose lease ran out.</summary>
    public double DrainSeconds { get; set; } = 1;

    /// <summary><c>ChangeFeed:RetentionMinutes</c>: dispatched outbox rows are kept this long for replicas following the feed.</summary>
    public double RetentionMinutes { get; set; } = 60;

    /// <summary>
    /// <c>ChangeFeed:DispatchAfterCommit</c>: false only in fault tests, to leave a committed change undispatched as a
    /// crash right after the commit would (the writer still serves it; every other consumer must get it from the outbox).
    /// </summary>
    public bool DispatchAfterCommit { get; set; } = true;
}

/// <summary>
/// The write side of the change feed. Every transaction that logs a change enlists it (<see cref="Enlist"/>); as the
/// transaction's last statements (<see cref="WriteScope.BeforeCommit"/>) it takes the next revision from the one-row
/// counter <c>feed_revision</c> (<c>UPDATE … SET revision = revision + 1 RETURNING revision</c>), stamps the change row
/// with it and writes the outbox row. The counter's row lock is what orders revisions: a second transaction's update waits
/// until the first commits (SQLite's BEGIN IMMEDIATE already serialises), so revision N+1 is never visible before N, and a
/// rollback gives its number back, so there are no gaps. On PostgreSQL the same statement queues a <c>pg_notify</c> on
/// <see cref="NotifyChannel"/>, delivered at commit: a wake-up for the other replicas that needs no writer alive.
/// </summary>
public sealed class ChangeFeed(TimeProvider clock, Microsoft.Extensions.Options.IOptions<ChangeFeedOptions> options)
{
    /// <summary>The PostgreSQL notification channel a commit announces its newest revision on (payload: the revision).</summary>
    public const string NotifyChannel = "flaganalyzer_feed";

    /// <summary>The Redis channel a dispatcher announces each revision on (payload: the revision).</summary>
    public const string AnnounceChannel = "flaganalyzer:feed";

    /// <summary>This process's name on the outbox leases it holds.</summary>
    public string Replica { get; } = Guid.NewGuid().ToString("N");

    public ChangeFeedOptions Options => options.Value;

    /// <summary>Logs <paramref name="m"/>'s change row now and gives it its revision and outbox row when the transaction commits.</summary>
    public async Task EnlistAsync(WriteScope s, FlagMutation m, CancellationToken ct)
    {
        await FlagStore.InsertChangeAsync(s, m.Change, ct);
        Enlist(s, m);
    }

    /// <summary>Gives the already-logged change of <paramref name="m"/> its revision and outbox row at commit.</summary>
    public void Enlist(WriteScope s, FlagMutation m) => s.BeforeCommit((scope, ct) => StampAsync(scope, m, ct));

    private async Task StampAsync(WriteScope s, FlagMutation m, CancellationToken ct)
    {
        var revision = await s.Connection.ScalarAsync<long>(s.Transaction,
            "UPDATE feed_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision", null, ct);
        m.Change.Revision = revision;
        var entry = m.ToEntry();
        var now = Time.ToMs(clock.GetUtcNow());
        await s.ExecAsync("""
            UPDATE flag_changes SET revision = @revision WHERE id = @changeId;
            INSERT INTO flag_outbox(revision, flag_id, environment, payload, created_at, lease_owner, lease_until, dispatched_at)
            VALUES (@revision, @flagId, @environment, @payload, @now, @replica, @leaseUntil, NULL);
            """ + s.Pick("", $" SELECT pg_notify('{NotifyChannel}', CAST(@revision AS text));"), new
        {
            revision, changeId = m.Change.Id, flagId = m.Change.FlagId, environment = m.Change.Environment,
            payload = Json.Serialize(entry), now, replica = Replica, leaseUntil = now + LeaseMs,
        }, ct);
    }

    internal long LeaseMs => (long)(options.Value.LeaseSeconds * 1000);

    /// <summary>The newest committed revision.</summary>
    public static Task<long> CurrentRevisionAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct) =>
        conn.ScalarAsync<long>(tx, "SELECT revision FROM feed_revision WHERE id = 1", null, ct);

    /// <summary>Outbox rows after <paramref name="afterRevision"/>, in revision order (what a replica following the feed applies).</summary>
    public static async Task<List<FeedEntry>> ReadAfterAsync(DbConnection conn, long afterRevision, int take, CancellationToken ct) =>
        (await conn.ListAsync<string>(null, "SELECT payload FROM flag_outbox WHERE revision > @afterRevision ORDER BY revision LIMIT @take",
            new { afterRevision, take }, ct)).ConvertAll(p => Json.Deserialize<FeedEntry>(p)!);
}
