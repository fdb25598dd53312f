using FlagAnalyzer.Api.Access;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Tests.Unit.Access;

/// <summary>The verifier against an in-memory key source and a clock the test moves.</summary>
public sealed class ApiKeyVerifierTests
{
    private sealed class Clock : TimeProvider
    {
        public long Ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Ticks;
        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(Ticks);
        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    private sealed class Source : IApiKeySource
    {
        public List<StoredApiKey> Keys { get; } = [];
        public int Lookups;
        public Task<IReadOnlyList<StoredApiKey>> FindByPrefixAsync(string prefix, CancellationToken ct)
        {
            Lookups++;
            return Task.FromResult<IReadOnlyList<StoredApiKey>>(Keys.Where(k => k.Key.Prefix == prefix).ToList());
        }
        public Task TouchAsync(string keyId, DateTimeOffset at, CancellationToken ct) => Task.CompletedTask;
    }

    private readonly Clock _clock = new();
    private readonly Source _source = new();

    private ApiKeyVerifier Verifier() => new(_source, Options.Create(new AccessOptions()), _clock, NullLogger<ApiKeyVerifier>.Instance);

    private string Add(ApiRole role, DateTimeOffset? revoked = null, string? environment = null)
    {
        var (secret, prefix, hash) = ApiKeySecrets.Generate();
        _source.Keys.Add(new StoredApiKey(new ApiKey($"key_{_source.Keys.Count}", prefix, "k", role, environment, "test", _clock.GetUtcNow(), null, revoked), hash));
        return secret;
    }

    [Fact]
    public async Task ValidKey_GivesItsActor()
    {
        var secret = Add(ApiRole.Sdk, environment: "production");

        var result = await Verifier().VerifyAsync(secret);

        Assert.Equal(KeyCheck.Valid, result.Check);
        Assert.Equal(("key_0", "sdk", "production"), (result.Actor!.KeyId, result.Actor.Role, result.Actor.Environment));
        Assert.Equal("sdk", result.Principal!.FindFirst(System.Security.Claims.ClaimTypes.Role)!.Value);
    }

    [Fact]
    public async Task RightPrefixWrongSecret_IsUnknown_AndNotCached()
    {
        var secret = Add(ApiRole.Admin);
        var verifier = Verifier();
        var forged = secret[..12] + new string('A', secret.Length - 12);

        Assert.Equal(KeyCheck.Unknown, (await verifier.VerifyAsync(forged)).Check);
        Assert.Equal(KeyCheck.Unknown, (await verifier.VerifyAsync(forged)).Check);
        Assert.Equal(2, _source.Lookups);
    }

    [Fact]
    public async Task RevokedKey_IsRevoked()
    {
        var secret = Add(ApiRole.Viewer, revoked: _clock.GetUtcNow());

        Assert.Equal(KeyCheck.Revoked, (await Verifier().VerifyAsync(secret)).Check);
    }

    [Fact]
    public async Task WithoutRedis_ACachedKeyIsTrustedForOneSecondAtMost()
    {
        var secret = Add(ApiRole.Viewer);
        var verifier = Verifier();
        await verifier.VerifyAsync(secret);
        _clock.Advance(TimeSpan.FromMilliseconds(900));
        await verifier.VerifyAsync(secret);
        Assert.Equal(1, _source.Lookups);

        // revoked in the database by another replica: no announcement can arrive without Redis
        _source.Keys[0] = _source.Keys[0] with { Key = _source.Keys[0].Key with { RevokedAt = _clock.GetUtcNow() } };
        _clock.Advance(TimeSpan.FromMilliseconds(101));

        Assert.Equal(KeyCheck.Revoked, (await verifier.VerifyAsync(secret)).Check);
        Assert.Equal(2, _source.Lookups);
    }

    [Fact]
    public async Task RevokedHere_IsForgottenAtOnce()
    {
        var secret = Add(ApiRole.Editor);
        var verifier = Verifier();
        await verifier.VerifyAsync(secret);
        _source.Keys[0] = _source.Keys[0] with { Key = _source.Keys[0].Key with { RevokedAt = _clock.GetUtcNow() } };

        await verifier.RevokedAsync("key_0");

        Assert.Equal(KeyCheck.Revoked, (await verifier.VerifyAsync(secret)).Check);
    }

    [Fact]
    public async Task TheBootstrapKey_AnyLongString_IsFoundUnderTheForeignPrefix()
    {
        const string bootstrap = "my-own-bootstrap-key-of-more-than-32-characters";
        _source.Keys.Add(new StoredApiKey(new ApiKey("key_b", ApiKeySecrets.ForeignPrefix, "bootstrap admin", ApiRole.Admin, null, "bootstrap",
            _clock.GetUtcNow(), null, null), ApiKeySecrets.Hash(bootstrap)));

        Assert.Equal(KeyCheck.Valid, (await Verifier().VerifyAsync(bootstrap)).Check);
        Assert.Equal(KeyCheck.Unknown, (await Verifier().VerifyAsync(bootstrap + "!")).Check);
    }
}
