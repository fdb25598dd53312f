using System.Collections.Concurrent;
using FlagAnalyzer.Api.Access;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Evaluation.Streams;

/// <summary>What a stream is told: re-fetch, with the configuration's etag and the revision it reflects (the SSE id).</summary>
public sealed record StreamNotice(long Revision, string ConfigEtag)
{
    private byte[]? _bytes;

    /// <summary>The event as written, encoded once per notice: a change fanned out to 10,000 streams allocates it once, not 10,000 times.</summary>
    public byte[] Bytes => _bytes ??= System.Text.Encoding.UTF8.GetBytes(
        $"id: {Revision.ToString(System.Globalization.CultureInfo.InvariantCulture)}\ndata: {System.Text.Json.JsonSerializer.Serialize(new { type = "refetchEvaluation", etag = ConfigEtag })}\n\n");
}

/// <summary>What the writer of a stream is to do next.</summary>
public enum StreamWake { Notice, Beat, Closed }

/// <summary>
/// One open stream: the latest notice not yet written, whether a heartbeat is due, and whether it is closed; its one
/// writer takes them. An idle stream holds this object and at most one pending task: no semaphore, no token source
/// (10,000 idle streams are 10,000 of these; issue 28 bounds what they cost).
/// </summary>
public sealed class StreamSubscriber(string? environment, string? keyId)
{
    private StreamNotice? _notice;
    private int _beat;
    private int _closed;
    private TaskCompletionSource? _waiter;

    public string? Environment => environment;
    public string? KeyId => keyId;
    public bool IsClosed => Volatile.Read(ref _closed) == 1;

    /// <summary>Whether a heartbeat is waiting for the writer.</summary>
    internal bool BeatDue => Volatile.Read(ref _beat) == 1;

    /// <summary>Only the newest notice matters (each one says "re-fetch now"): a burst leaves one write.</summary>
    public void Post(StreamNotice notice)
    {
        Volatile.Write(ref _notice, notice);
        Signal();
    }

    public void Beat()
    {
        Volatile.Write(ref _beat, 1);
        Signal();
    }

    /// <summary>Ends the stream: its writer wakes and leaves (key revoked, client gone, server stopping).</summary>
    public void Close()
    {
        Volatile.Write(ref _closed, 1);
        Signal();
    }

    /// <summary>Waits until there is something to do; a notice is preferred to a heartbeat, closing to both.</summary>
    public async ValueTask<(StreamWake Wake, StreamNotice? Notice)> TakeAsync()
    {
        while (true)
        {
            if (TryTake(out var wake, out var notice)) return (wake, notice);
            await WaitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>What there is to do now, if anything (a notice is preferred to a heartbeat, closing to both).</summary>
    public bool TryTake(out StreamWake wake, out StreamNotice? notice)
    {
        notice = null;
        wake = StreamWake.Closed;
        if (Volatile.Read(ref _closed) == 1) return true;
        if (Interlocked.Exchange(ref _notice, null) is { } posted)
        {
            Interlocked.Exchange(ref _beat, 0);
            (wake, notice) = (StreamWake.Notice, posted);
            return true;
        }
        wake = StreamWake.Beat;
        return Interlocked.Exchange(ref _beat, 0) == 1;
    }

    /// <summary>
    /// Completes when there may be something to take (at once when there already is). The writer awaits this directly
    /// rather than through an async method of its own, so an idle stream holds one pending task here, not a second frame.
    /// </summary>
    public Task WaitAsync()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _waiter, waiter);
        // a post between the writer's last look and publishing the waiter found no waiter to wake: look again before sleeping
        if (Volatile.Read(ref _closed) == 1 || Volatile.Read(ref _notice) is not null || Volatile.Read(ref _beat) == 1)
        {
            Interlocked.CompareExchange(ref _waiter, null, waiter);
            return Task.CompletedTask;
        }
        return waiter.Task;
    }

    private void Signal() => Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
}

/// <summary>
/// This replica's OFREP event streams, grouped by the environment their credential reaches ("" = every environment).
/// On every snapshot swap (which the change feed makes on every replica for every committed change) it compares each
/// group's configuration version with the last one it announced and notifies that group only when it differs, so a
/// change in another environment sends nothing. Swaps that arrive while it works coalesce into one pass. It also
/// sends heartbeats and re-checks the keys of open streams.
/// </summary>
public sealed partial class StreamHub(FlagSnapshotStore snapshots, ApiKeyVerifier keys, IOptions<StreamOptions> options, TimeProvider clock,
    IHostApplicationLifetime lifetime, ILogger<StreamHub> log) : BackgroundService
{
    private const int HistoryLength = 256;

    private sealed class Group(string? environment)
    {
        public readonly string? Environment = environment;
        public readonly ConcurrentDictionary<StreamSubscriber, byte> Members = new();
        public readonly Lock Gate = new();
        public string Version = "";
        public long KnownFrom = -1;
        public long LastRevision;
        public readonly Queue<long> History = new();
    }

    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _swapped = new(0, 1);
    private TaskCompletionSource _nextPass = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

    // one revocation registration per key with open streams, not one per stream
    private readonly Dictionary<string, (IDisposable Registration, int Streams)> _keys = new(StringComparer.Ordinal);
    private readonly Lock _keysGate = new();

    /// <summary>Open streams on this replica.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Open streams per environment on this replica ("" = streams of keys that reach every environment).</summary>
    public IReadOnlyDictionary<string, int> CountsByEnvironment() =>
        _groups.Where(g => !g.Value.Members.IsEmpty).ToDictionary(g => g.Key, g => g.Value.Members.Count, StringComparer.Ordinal);

    /// <summary>The configuration etag a stream of <paramref name="environment"/> would be sent now.</summary>
    public static string ConfigEtag(FlagSnapshot snapshot, string? environment) =>
        $"\"{snapshot.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{OfrepApi.ConfigVersion(snapshot, environment)}\"";

    /// <summary>
    /// Whether <paramref name="snapshot"/> already reflects the configuration <paramref name="configEtag"/> names (or a
    /// later one): the same version, or, once revisions are assigned, a revision at least as new. An etag this server
    /// did not issue is treated as satisfied (nothing to wait for).
    /// </summary>
    public static bool Reflects(FlagSnapshot snapshot, string? environment, string configEtag)
    {
        var text = configEtag.Trim().TrimStart('W', '/').Trim('"');
        var dot = text.IndexOf('.');
        if (dot < 1 || !long.TryParse(text.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision))
            return true;
        if (string.Equals(text[(dot + 1)..], OfrepApi.ConfigVersion(snapshot, environment), StringComparison.Ordinal)) return true;
        return revision > 0 && snapshot.Revision >= revision;
    }

    /// <summary>Asks the snapshot to reload from the database (a bulk request named a configuration this replica has not seen).</summary>
    public void RequestReload() => snapshots.RequestReload();

    /// <summary>Completes at the hub's next pass over a swapped snapshot (a bulk request waiting for freshness awaits it).</summary>
    public Task NextPassAsync() => Volatile.Read(ref _nextPass).Task;

    /// <summary>Adds a stream; null when the replica holds its maximum. Dispose the registration when the stream ends.</summary>
    public IDisposable? Join(StreamSubscriber s)
    {
        var max = options.Value.MaxStreams;
        if (Interlocked.Increment(ref _count) > max && max > 0)
        {
            Interlocked.Decrement(ref _count);
            return null;
        }
        var group = GroupOf(s.Environment);
        group.Members.TryAdd(s, 0);
        if (s.KeyId is { } keyId)
            lock (_keysGate)
                _keys[keyId] = _keys.TryGetValue(keyId, out var known)
                    ? (known.Registration, known.Streams + 1)
                    : (keys.OnRevoked(keyId, () => CloseKey(keyId)), 1);
        // the hub closes every stream once when the server stops; one opened while it stops closes at once
        if (lifetime.ApplicationStopping.IsCancellationRequested) s.Close();
        return new Leave(this, group, s);
    }

    /// <summary>A stream's membership (fields, not a closure: one small object per stream).</summary>
    private sealed class Leave(StreamHub hub, Group group, StreamSubscriber s) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0 || !group.Members.TryRemove(s, out _)) return;
            Interlocked.Decrement(ref hub._count);
            if (s.KeyId is not { } keyId) return;
            lock (hub._keysGate)
            {
                if (!hub._keys.TryGetValue(keyId, out var known)) return;
                if (known.Streams > 1) hub._keys[keyId] = (known.Registration, known.Streams - 1);
                else
                {
                    hub._keys.Remove(keyId);
                    known.Registration.Dispose();
                }
            }
        }
    }

    /// <summary>Ends the streams of a key that was revoked (the access layer announces it, on every replica).</summary>
    private void CloseKey(string keyId)
    {
        foreach (var g in _groups.Values)
            foreach (var m in g.Members.Keys)
                if (string.Equals(m.KeyId, keyId, StringComparison.Ordinal)) m.Close();
    }

    private void CloseAll()
    {
        foreach (var g in _groups.Values)
            foreach (var m in g.Members.Keys) m.Close();
    }

    /// <summary>
    /// What a reconnecting stream that last saw <paramref name="lastEventId"/> must be told at once: a notice when a
    /// change relevant to it happened after that revision, or when the hub cannot tell (an id it cannot read, older than
    /// what it remembers, or revisions not assigned yet); null when it has missed nothing.
    /// </summary>
    public StreamNotice? Resume(string? environment, string lastEventId)
    {
        var snapshot = snapshots.Current;
        var group = GroupOf(environment);
        var now = new StreamNotice(snapshot.Revision, ConfigEtag(snapshot, environment));
        if (!long.TryParse(lastEventId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var last))
            return now;
        if (snapshot.Revision == 0) return now; // no revisions yet: nothing to compare with, so re-fetch to be sure
        if (last >= snapshot.Revision) return null;
        lock (group.Gate)
        {
            // too far behind: older than what this replica has watched, or than the history it keeps
            if (group.KnownFrom < 0 || last < group.KnownFrom) return now;
            if (group.History.Count == HistoryLength && last < group.History.Peek()) return now;
            return group.History.Any(r => r > last) ? now : null;
        }
    }

    /// <summary>
    /// What a stream opened from a bulk answer that reflected <paramref name="seenEtag"/> (the configuration etag its URL
    /// carries) must be told at once: a notice when the caller's environment changed since that answer (a change made
    /// between the provider's bulk request and its stream's opening would otherwise never be sent); null when nothing
    /// did, or when this replica is behind the answer (its pass notifies the stream when it catches up).
    /// </summary>
    public StreamNotice? Since(string? environment, string seenEtag)
    {
        var snapshot = snapshots.Current;
        var text = seenEtag.Trim('"');
        var dot = text.IndexOf('.');
        if (dot > 0 && string.Equals(text[(dot + 1)..], OfrepApi.ConfigVersion(snapshot, environment), StringComparison.Ordinal)) return null;
        if (dot > 0 && long.TryParse(text.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seen)
            && seen > 0 && snapshot.Revision > 0 && snapshot.Revision < seen)
            return null;
        return new StreamNotice(snapshot.Revision, ConfigEtag(snapshot, environment));
    }

    private Group GroupOf(string? environment) => _groups.GetOrAdd(environment ?? "", _ =>
    {
        var g = new Group(environment);
        var snapshot = snapshots.Current;
        lock (g.Gate)
        {
            g.Version = OfrepApi.ConfigVersion(snapshot, environment);
            g.KnownFrom = snapshot.Revision;
            g.LastRevision = snapshot.Revision;
        }
        return g;
    });

    private void OnSwapped(FlagSnapshot _)
    {
        // raised under the snapshot store's lock: only note it, the pass runs on the hub's own loop
        if (_swapped.CurrentCount > 0) return;
        try { _swapped.Release(); }
        catch (SemaphoreFullException) { }
    }

    /// <summary>One pass: each group whose configuration version moved is notified, once.</summary>
    internal void Pass()
    {
        var snapshot = snapshots.Current;
        foreach (var group in _groups.Values)
        {
            var version = OfrepApi.ConfigVersion(snapshot, group.Environment);
            StreamNotice notice;
            lock (group.Gate)
            {
                if (string.Equals(version, group.Version, StringComparison.Ordinal)) continue;
                group.Version = version;
                group.LastRevision = snapshot.Revision;
                group.History.Enqueue(snapshot.Revision);
                if (group.History.Count > HistoryLength) group.History.Dequeue();
                notice = new StreamNotice(snapshot.Revision, ConfigEtag(snapshot, group.Environment));
            }
            foreach (var member in group.Members.Keys) member.Post(notice);
        }
        Interlocked.Exchange(ref _nextPass, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        snapshots.Swapped += OnSwapped;
        using var stopping = lifetime.ApplicationStopping.UnsafeRegister(static o => ((StreamHub)o!).CloseAll(), this);
        try
        {
            await Task.WhenAll(PassesAsync(stoppingToken), HeartbeatsAsync(stoppingToken), KeyChecksAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            snapshots.Swapped -= OnSwapped;
            CloseAll();
        }
    }

    private async Task PassesAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await _swapped.WaitAsync(ct);
            try { Pass(); }
            catch (Exception e) { LogPassFailed(e); }
        }
    }

    /// <summary>How often the heartbeat timer ticks; each tick beats the streams of one slice of the heartbeat period.</summary>
    internal static readonly TimeSpan BeatSlice = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Each stream gets its comment once per heartbeat period, but the streams are spread over the period's slices (by
    /// their identity hash) instead of all beating at once: each write rents a 4 KiB block from Kestrel's memory pool
    /// until its send completes, so 10,000 streams beaten together made the pool grow by thousands of blocks, which it
    /// then kept (measured: ~3,000–4,500 blocks, 12–18 MiB, in a heap dump of 10,000 idle streams).
    /// </summary>
    private async Task HeartbeatsAsync(CancellationToken ct)
    {
        var slices = SlicesPerBeat(options.Value.HeartbeatSeconds);
        using var timer = new PeriodicTimer(BeatSlice, clock);
        for (long tick = 0; await timer.WaitForNextTickAsync(ct); tick++)
            Beat(tick, slices);
    }

    /// <summary>Beats the streams whose slice is <paramref name="tick"/>'s (every stream once in <paramref name="slices"/> ticks).</summary>
    internal void Beat(long tick, int slices)
    {
        if (Count == 0) return;
        var slice = (int)(tick % slices);
        foreach (var g in _groups.Values)
            foreach (var m in g.Members.Keys)
                if (SliceOf(m, slices) == slice) m.Beat();
    }

    internal static int SlicesPerBeat(int heartbeatSeconds) =>
        (int)Math.Max(1, TimeSpan.FromSeconds(Math.Max(1, heartbeatSeconds)) / BeatSlice);

    internal static int SliceOf(StreamSubscriber s, int slices) =>
        (int)((uint)System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(s) % (uint)slices);

    private async Task KeyChecksAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.KeyRecheckSeconds)), clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            var byKey = _groups.Values.SelectMany(g => g.Members.Keys).Where(m => m.KeyId is not null).GroupBy(m => m.KeyId!);
            foreach (var streams in byKey)
            {
                try
                {
                    if (await keys.BoundSecretAsync(streams.Key, StreamToken.Purpose, fresh: true, ct) is not null) continue;
                    LogClosedForKey(streams.Count(), streams.Key);
                    foreach (var m in streams) m.Close();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogKeyCheckFailed(e, streams.Key);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "An event-stream pass failed; the next swap retries")]
    private partial void LogPassFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "Closed {Count} event streams: key {KeyId} is revoked or gone")]
    private partial void LogClosedForKey(int count, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not re-check key {KeyId} of open event streams; they stay open until the next check")]
    private partial void LogKeyCheckFailed(Exception e, string keyId);
}
