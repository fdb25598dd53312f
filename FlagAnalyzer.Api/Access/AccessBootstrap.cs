using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Access;

/// <summary>
/// At start-up (after the migrations): with no key stored, <c>Auth:BootstrapAdminKey</c> becomes the first admin
/// key; with neither, one sentence says how to make one, and every protected call answers 401 until then. Also
/// subscribes to revocations from other replicas.
/// </summary>
internal sealed class AccessBootstrap(Db db, IOptions<AccessOptions> options, ApiKeyVerifier verifier, AccessState state, TimeProvider clock,
    ILogger<AccessBootstrap> log) : IHostedService
{
    public const string BootstrapKeyName = "bootstrap admin";

    public async Task StartAsync(CancellationToken ct)
    {
        var o = options.Value;
        if (o.Mode == AuthMode.Disabled)
        {
            log.LogWarning("Authentication is DISABLED (Auth:Mode=disabled): anyone who can reach this port can read and change everything; use this only for local experiments.");
            return;
        }
        if (o.BootstrapAdminKey is { Length: > 0 } given && given.Length < AccessOptions.MinBootstrapKeyLength)
            throw new InvalidOperationException($"Auth:BootstrapAdminKey must be at least {AccessOptions.MinBootstrapKeyLength} characters long.");

        // replicas starting together: one of them creates the first key
        await using (var scope = await db.BeginWriteAsync(ApiKeyStore.Lock, ct))
        {
            var count = await ApiKeyStore.CountAsync(scope.Connection, scope.Transaction, ct);
            if (count == 0 && o.BootstrapAdminKey is { Length: > 0 } secret)
            {
                var now = clock.GetUtcNow();
                var key = new ApiKey(Ids.New("key", clock), ApiKeySecrets.PrefixOf(secret), BootstrapKeyName, ApiRole.Admin, null, "bootstrap", now, null, null);
                await ApiKeyStore.InsertAsync(scope, new StoredApiKey(key, ApiKeySecrets.Hash(secret)), ct);
                await ApiKeyStore.AppendEventAsync(scope, new ApiKeyEvent(Ids.New("kev", clock), key.Id, ApiKeyActions.Created, null, "bootstrap", now), ct);
                await scope.CommitAsync(ct);
                count = 1;
                log.LogInformation("Created the first admin key ({KeyId}) from Auth:BootstrapAdminKey.", key.Id);
            }
            state.AnyKey = count > 0;
            if (!state.AnyKey)
                log.LogWarning("No API key exists, so every protected call answers 401: set Auth:BootstrapAdminKey to a secret of at least 32 characters " +
                    "(e.g. dotnet user-secrets --project FlagAnalyzer.Api set Auth:BootstrapAdminKey \"$(openssl rand -base64 36)\") and restart, " +
                    "or start everything with the AppHost, which generates one.");
        }
        await verifier.SubscribeAsync();
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}

/// <summary>What /health reports about access: whether any key exists yet (set at start-up and when a key is created).</summary>
public sealed class AccessState
{
    public volatile bool AnyKey;
}
