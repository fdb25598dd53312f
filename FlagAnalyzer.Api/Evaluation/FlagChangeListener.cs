using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>Whether this replica hears PostgreSQL's flag notifications, since when, and why not.</summary>
public sealed record FlagListenerState(bool Listening, string Detail, DateTimeOffset Since);

/// <summary>
/// On PostgreSQL, one dedicated connection per replica that <c>LISTEN</c>s to <see cref="ChangeFeed.NotifyChannel"/>, on
/// which every transaction that logs a change announces its revision at commit (<see cref="ChangeFeed"/>). It comes from
/// the database itself, so it wakes this replica's feed follower even when the writer died right after its commit or
/// Redis is stalled; it carries no state: the follower reads what is after its revision.
/// <list type="bullet">
/// <item>The connection is checked when idle and reopened with backoff; after every (re)connect the follower is woken,
/// since what was committed while nobody listened was announced to nobody. <c>/health</c> shows it
/// (<c>flag-notifications</c>: Degraded while not listening, with the reason), and each transition is logged once.</item>
/// </list>
/// </summary>
public sealed partial class FlagChangeListener(Db db, NpgsqlDataSource dataSource, FlagSnapshotStore store, TimeProvider clock,
    ILogger<FlagChangeListener> log) : BackgroundService
{
    /// <summary>The listening session's <c>application_name</c>, so an operator (or a test) can find it in <c>pg_stat_activity</c>.</summary>
    public const string ApplicationName = "flaganalyzer-listen";

    // an idle connection is proved alive this often: a peer gone without a FIN leaves WaitAsync waiting forever
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly Lock _stateGate = new();
    private volatile FlagListenerState _state = new(false, "not connected yet", clock.GetUtcNow());
    private bool _failedSinceStart;

    public FlagListenerState State => _state;

    /// <summary>Raised on every change of <see cref="FlagListenerState.Listening"/> (tests wait on it instead of polling health).</summary>
    public event Action<FlagListenerState>? StateChanged;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var backoff = FirstBackoff;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(() => backoff = FirstBackoff, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                NotListening(e);
            }
            try
            {
                await Task.Delay(backoff, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(2 * backoff.Ticks, MaxBackoff.Ticks));
        }
    }

    private async Task ListenAsync(Action connected, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        conn.Notification += OnNotification;
        try
        {
            await using (var listen = new NpgsqlCommand($"SET application_name = '{ApplicationName}'; LISTEN {ChangeFeed.NotifyChannel}", conn))
                await listen.ExecuteNonQueryAsync(ct);
            Listening();
            connected();
            // whatever was committed while this replica was not listening was announced to nobody here
            store.Wake();
            while (true)
            {
                if (await conn.WaitAsync(IdleCheck, ct)) continue;
                await using var ping = new NpgsqlCommand("SELECT 1", conn) { CommandTimeout = 5 };
                await ping.ExecuteScalarAsync(ct);
            }
        }
        finally
        {
            conn.Notification -= OnNotification;
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (!long.TryParse(e.Payload, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision))
        {
            LogUnreadable(e.Payload);
            return;
        }
        if (revision > store.Revision) store.Wake();
    }

    private void Listening()
    {
        FlagListenerState now;
        lock (_stateGate)
        {
            if (_state.Listening) return;
            _failedSinceStart = false;
            _state = now = new FlagListenerState(true, $"listening on PostgreSQL channel {ChangeFeed.NotifyChannel}", clock.GetUtcNow());
        }
        LogListening(db.Description, ChangeFeed.NotifyChannel);
        StateChanged?.Invoke(now);
    }

    private void NotListening(Exception e)
    {
        FlagListenerState now;
        var reason = e.Message;
        lock (_stateGate)
        {
            var was = _state;
            // still down: the newest reason, the same since, no new log line
            _state = now = new FlagListenerState(false, reason, was.Listening ? clock.GetUtcNow() : was.Since);
            var quiet = !was.Listening && _failedSinceStart;
            _failedSinceStart = true;
            if (quiet) return;
        }
        LogNotListening(e, db.Description);
        StateChanged?.Invoke(now);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for flag changes on {Database} (channel {Channel})")]
    private partial void LogListening(string database, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not listening for flag changes on {Database}; reconnecting. Until then other replicas' changes arrive through Redis and the feed poll only")]
    private partial void LogNotListening(Exception e, string database);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unreadable flag notification '{Payload}' ignored")]
    private partial void LogUnreadable(string payload);

}

/// <summary><c>flag-notifications</c> in <c>/health</c> (PostgreSQL only): Degraded, with the reason, while this replica does not listen.</summary>
internal sealed class FlagChangeListenerHealthCheck(FlagChangeListener listener, IOptions<EvaluationOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var s = listener.State;
        return Task.FromResult(s.Listening
            ? HealthCheckResult.Healthy(s.Detail)
            : HealthCheckResult.Degraded($"degraded: not listening for flag changes on PostgreSQL since {s.Since:HH:mm:ss.fff}Z ({s.Detail}); " +
                $"other replicas' changes arrive through Redis and the {options.Value.FeedPollMilliseconds} ms feed poll only"));
    }
}
