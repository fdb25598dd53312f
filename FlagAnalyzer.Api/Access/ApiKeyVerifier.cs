using System.Collections.Concurrent;
using System.Security.Claims;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Access;

/// <summary>Where verified keys come from (the database in the app; a fake in unit tests).</summary>
internal interface IApiKeySource
{
    Task<IReadOnlyList<StoredApiKey>> FindByPrefixAsync(string prefix, CancellationToken ct);
    Task TouchAsync(string keyId, DateTimeOffset at, CancellationToken ct);
    /// <summary>A key by id (credentials bound to a key name it by id); sources that cannot look keys up by id know none.</summary>
    Task<StoredApiKey?> GetByIdAsync(string keyId, CancellationToken ct) => Task.FromResult<StoredApiKey?>(null);
}

internal sealed class DatabaseApiKeySource(Db db) : IApiKeySource
{
    public async Task<IReadOnlyList<StoredApiKey>> FindByPrefixAsync(string prefix, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await ApiKeyStore.FindByPrefixAsync(conn, prefix, ct);
    }

    public async Task TouchAsync(string keyId, DateTimeOffset at, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await ApiKeyStore.TouchAsync(conn, keyId, at, ct);
    }

    public async Task<StoredApiKey?> GetByIdAsync(string keyId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await ApiKeyStore.GetAsync(conn, null, keyId, ct);
    }
}

public enum KeyCheck { Valid, Unknown, Revoked }

/// <summary>
/// A verified key's identity, carrying the <see cref="Common.Actor"/> its claims describe, so the access middleware takes
/// the caller from the (cached) principal instead of looking its claims up on every request.
/// </summary>
public sealed class ApiKeyIdentity(IEnumerable<Claim> claims, Actor actor) : ClaimsIdentity(claims, ApiKeyVerifier.AuthenticationType)
{
    public Actor Caller { get; } = actor;
}

/// <summary>The outcome of checking a presented key; <see cref="Principal"/> and <see cref="Actor"/> are set when valid.</summary>
public sealed record KeyVerification(KeyCheck Check, ApiKey? Key, ClaimsPrincipal? Principal, Actor? Actor)
{
    public static readonly KeyVerification Unknown = new(KeyCheck.Unknown, null, null, null);
}

/// <summary>
/// Checks presented keys: SHA-256 of the presented text, the stored hash found by the key's prefix, compared
/// in constant time (<see cref="ApiKeySecrets.Matches"/>). Verified keys are cached in memory by hash, so a
/// request costs a hash and a dictionary lookup.
/// <para>
/// Revocation reaches every replica within 1 s: a revocation drops the key here and is published on the Redis
/// channel <see cref="Channel"/>, which every replica follows; cached keys expire after
/// <see cref="AccessOptions.KeyCacheTtl"/> as a backstop. Without Redis, or while it is away (an invalidation
/// could be lost), a cached key is trusted for at most <see cref="AccessOptions.KeyCacheTtlWithoutInvalidation"/>.
/// Unknown keys are never cached (failed attempts are rate-limited instead), so guessing cannot fill memory.
/// </para>
/// </summary>
public sealed class ApiKeyVerifier : IDisposable
{
    internal const string Channel = "flaganalyzer:api-key-invalidations";
    public const string KeyIdClaim = "fa:key_id";
    public const string EnvironmentClaim = "fa:environment";
    public const string AuthenticationType = "ApiKey";
    private static readonly RedisChannel InvalidationChannel = RedisChannel.Literal(Channel);

    private readonly IApiKeySource _source;
    private readonly AccessOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<ApiKeyVerifier> _log;
    private readonly IConnectionMultiplexer? _redis;
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    // bumped by every invalidation: a lookup that started before one does not cache what it read
    private long _generation;
    private volatile bool _invalidationsLive;
    private int _subscribing;

    // live connections open per key, closed when the key is revoked
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<object, Action>> _open = new(StringComparer.Ordinal);
    // when this replica last wrote each key's last_used_at (outlives cache entries)
    private readonly ConcurrentDictionary<string, long> _touched = new(StringComparer.Ordinal);
    /// <summary>Last-use writes still running: the app's shutdown waits for them (<see cref="Dispose"/>).</summary>
    private readonly ConcurrentDictionary<Task, byte> _touching = new();

    private sealed record Entry(StoredApiKey Stored, KeyVerification Result, long VerifiedAt);

    // live keys by id, for credentials bound to a key (BoundSecretAsync); dropped with the key like _cache
    private readonly ConcurrentDictionary<string, (StoredApiKey Stored, long VerifiedAt)> _byId = new(StringComparer.Ordinal);

    internal ApiKeyVerifier(IApiKeySource source, IOptions<AccessOptions> options, TimeProvider clock, ILogger<ApiKeyVerifier> log,
        IConnectionMultiplexer? redis = null)
    {
        _source = source;
        _options = options.Value;
        _clock = clock;
        _log = log;
        _redis = redis;
        if (_redis is not null)
        {
            _redis.ConnectionFailed += OnConnectionFailed;
            _redis.ConnectionRestored += OnConnectionRestored;
        }
    }

    /// <summary>Whether revocations from other replicas reach this one now (Redis subscribed and connected).</summary>
    public bool InvalidationsLive => _invalidationsLive;

    public ValueTask<KeyVerification> VerifyAsync(string presented, CancellationToken ct = default)
    {
        if (presented.Length is 0 or > ApiKeySecrets.MaxPresentedLength) return ValueTask.FromResult(KeyVerification.Unknown);
        Span<byte> hash = stackalloc byte[ApiKeySecrets.HashBytes];
        ApiKeySecrets.Hash(presented, hash);
        var cacheKey = Convert.ToBase64String(hash);
        var now = _clock.GetTimestamp();

        if (_cache.TryGetValue(cacheKey, out var entry))
        {
            var ttl = _invalidationsLive ? _options.KeyCacheTtl : _options.KeyCacheTtlWithoutInvalidation;
            if (_clock.GetElapsedTime(entry.VerifiedAt, now) < ttl && ApiKeySecrets.Matches(entry.Stored.SecretHash, hash))
            {
                if (entry.Result.Check == KeyCheck.Valid) Touch(entry.Stored.Key.Id, now);
                return ValueTask.FromResult(entry.Result);
            }
            _cache.TryRemove(new KeyValuePair<string, Entry>(cacheKey, entry));
        }
        return new ValueTask<KeyVerification>(LookUpAsync(presented, hash.ToArray(), cacheKey, now, ct));
    }

    private async Task<KeyVerification> LookUpAsync(string presented, byte[] hash, string cacheKey, long now, CancellationToken ct)
    {
        if (_redis is not null && !_invalidationsLive) _ = SubscribeAsync(); // Redis was away at start-up and may be back
        var generation = Interlocked.Read(ref _generation);
        var candidates = await _source.FindByPrefixAsync(ApiKeySecrets.PrefixOf(presented), ct);
        StoredApiKey? found = null;
        // every candidate is compared, so the time does not depend on which one matched
        foreach (var c in candidates)
            if (ApiKeySecrets.Matches(c.SecretHash, hash)) found = c;
        if (found is null) return KeyVerification.Unknown;

        var result = found.Key.IsRevoked ? new KeyVerification(KeyCheck.Revoked, found.Key, null, null) : Valid(found.Key);
        if (Interlocked.Read(ref _generation) == generation) _cache[cacheKey] = new Entry(found, result, now);
        if (result.Check == KeyCheck.Valid) Touch(found.Key.Id, now);
        return result;
    }

    /// <summary>
    /// A secret bound to one live key, for a credential its holder must carry where no header goes (the URL of an OFREP
    /// event stream): HMAC-SHA256 keyed by the key's stored hash over <paramref name="purpose"/>. Every replica derives the
    /// same secret from the shared database, it never reveals the key's secret or hash, and it stops existing with the key:
    /// null when the key is unknown or revoked. Cached like verified keys (same TTLs, dropped on revocation) unless
    /// <paramref name="fresh"/> asks the database.
    /// </summary>
    public async ValueTask<(ApiKey Key, byte[] Secret)?> BoundSecretAsync(string keyId, string purpose, bool fresh, CancellationToken ct)
    {
        var now = _clock.GetTimestamp();
        var ttl = _invalidationsLive ? _options.KeyCacheTtl : _options.KeyCacheTtlWithoutInvalidation;
        StoredApiKey? stored = null;
        if (!fresh && _byId.TryGetValue(keyId, out var held) && _clock.GetElapsedTime(held.VerifiedAt, now) < ttl) stored = held.Stored;
        if (stored is null)
        {
            var generation = Interlocked.Read(ref _generation);
            stored = await _source.GetByIdAsync(keyId, ct);
            if (stored is null || stored.Key.IsRevoked) return null;
            if (Interlocked.Read(ref _generation) == generation) _byId[keyId] = (stored, now);
        }
        return (stored.Key, System.Security.Cryptography.HMACSHA256.HashData(stored.SecretHash, System.Text.Encoding.UTF8.GetBytes(purpose)));
    }

    /// <summary>Forgets a key here at once and tells the other replicas (after its revocation committed).</summary>
    public async Task RevokedAsync(string keyId)
    {
        Drop(keyId);
        if (_redis is null) return;
        try
        {
            await _redis.GetSubscriber().PublishAsync(InvalidationChannel, keyId);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // the other replicas' short TTL (Redis is away, so they trust cached keys for 1 s at most) covers it
            _log.LogWarning(e, "Could not announce the revocation of key {KeyId} on Redis; other replicas drop it when their cached copy expires.", keyId);
        }
    }

    /// <summary>Follows revocations from other replicas (at start-up; retried on use while Redis is away).</summary>
    public async Task SubscribeAsync()
    {
        if (_redis is null || _invalidationsLive || Interlocked.Exchange(ref _subscribing, 1) == 1) return;
        try
        {
            var queue = await _redis.GetSubscriber().SubscribeAsync(InvalidationChannel);
            queue.OnMessage(m => Drop((string?)m.Message ?? ""));
            _invalidationsLive = _redis.IsConnected;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _log.LogDebug(e, "Subscribing to key revocations failed; cached keys are trusted for {Ttl} until it works", _options.KeyCacheTtlWithoutInvalidation);
        }
        finally
        {
            Volatile.Write(ref _subscribing, 0);
        }
    }

    private void Drop(string keyId)
    {
        Interlocked.Increment(ref _generation);
        _byId.TryRemove(keyId, out _);
        foreach (var (k, e) in _cache)
            if (e.Stored.Key.Id == keyId) _cache.TryRemove(new KeyValuePair<string, Entry>(k, e));
        if (_open.TryRemove(keyId, out var connections))
            foreach (var close in connections.Values) close();
    }

    /// <summary>
    /// Runs <paramref name="close"/> when the key is revoked (here or, over Redis, on another replica): an open
    /// live connection (SignalR, /ws) authenticated once at its start is cut off too. Dispose when the connection ends.
    /// </summary>
    public IDisposable OnRevoked(string keyId, Action close)
    {
        var token = new object();
        _open.GetOrAdd(keyId, _ => new ConcurrentDictionary<object, Action>())[token] = close;
        return new Registration(() =>
        {
            if (_open.TryGetValue(keyId, out var set)) set.TryRemove(token, out _);
        });
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }

    /// <summary>Writes last_used_at at most once per <see cref="AccessOptions.LastUsedResolution"/> per key, off the request path.</summary>
    private void Touch(string id, long now)
    {
        if (_touched.TryGetValue(id, out var last))
        {
            if (_clock.GetElapsedTime(last, now) < _options.LastUsedResolution || !_touched.TryUpdate(id, now, last)) return;
        }
        else if (!_touched.TryAdd(id, now)) return;
        var touch = Task.Run(async () =>
        {
            try
            {
                await _source.TouchAsync(id, _clock.GetUtcNow(), CancellationToken.None);
            }
            catch (Exception e)
            {
                _log.LogDebug(e, "Recording the last use of key {KeyId} failed", id);
            }
        });
        _touching.TryAdd(touch, 0);
        touch.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _touching,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static KeyVerification Valid(ApiKey key)
    {
        var role = key.Role.ToWire();
        List<Claim> claims =
        [
            new(KeyIdClaim, key.Id),
            new(ClaimTypes.Name, key.Name),
            new(ClaimTypes.Role, role),
        ];
        if (key.Environment is { } env) claims.Add(new Claim(EnvironmentClaim, env));
        var actor = new Actor(key.Id, key.Name, role) { Environment = key.Environment };
        return new KeyVerification(KeyCheck.Valid, key, new ClaimsPrincipal(new ApiKeyIdentity(claims, actor)), actor);
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        // an invalidation may be lost from now on: fall back to the short TTL and start from nothing
        _invalidationsLive = false;
        _cache.Clear();
        _byId.Clear();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _cache.Clear();
        _byId.Clear();
        // the multiplexer restores the subscription itself once it has been made
        _invalidationsLive = _redis!.IsConnected && _redis.GetSubscriber().IsConnected(InvalidationChannel);
        if (!_invalidationsLive) _ = SubscribeAsync();
    }

    public void Dispose()
    {
        // a last-use write still running would outlive the app, and write to (and hold open) a database being closed
        if (_touching.Keys.ToArray() is { Length: > 0 } pending) Task.WaitAll(pending, TimeSpan.FromSeconds(5));
        if (_redis is null) return;
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
    }
}
