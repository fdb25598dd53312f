using System.Security.Cryptography;
using System.Text;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>
/// Webhook secrets at rest: AES-256-GCM (a fresh 96-bit nonce per seal, the webhook's id as associated data, so a sealed
/// secret copied onto another webhook's row does not open). The key comes from <c>Webhooks:SecretKey</c>; without it, on
/// SQLite, a random key generated once and kept in a file beside the database (readable by the owner only) — which
/// protects a copied database file, not a copied data folder, so health says degraded. On PostgreSQL the replicas must
/// share one key, so there is no fallback: webhooks cannot be created and health says why.
/// </summary>
public sealed class WebhookSecrets
{
    private const string Prefix = "v1.";
    private const int NonceSize = 12, TagSize = 16;
    private static readonly byte[] Info = "FlagAnalyzer webhook secrets v1"u8.ToArray();
    public const string KeyFileName = "webhook-secrets.key";

    private readonly byte[]? _key;

    public WebhookSecrets(IOptions<WebhookOptions> options, Db db, ILogger<WebhookSecrets> log)
    {
        var configured = options.Value.SecretKey;
        if (!string.IsNullOrEmpty(configured))
        {
            if (configured.Length < 16)
            {
                Problem = "Webhooks:SecretKey is shorter than 16 characters; webhook secrets cannot be sealed";
                log.LogError("{Problem}", Problem);
                return;
            }
            _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(configured), 32, info: Info);
            Detail = "webhook secrets are encrypted at rest with Webhooks:SecretKey";
            return;
        }
        if (db.Provider == DbProvider.Postgres)
        {
            Problem = "Webhooks:SecretKey is not set: on PostgreSQL (several replicas) it is required to encrypt webhook secrets; " +
                      "webhooks cannot be created until it is";
            log.LogError("{Problem}", Problem);
            return;
        }
        KeyFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(db.FilePath)) ?? ".", KeyFileName);
        _key = LoadOrCreate(KeyFile);
        Warning = $"Webhooks:SecretKey is not set: webhook secrets are encrypted with a key generated in {KeyFile}, beside the database; " +
                  "set Webhooks:SecretKey so a copy of the data folder does not carry the key with the secrets";
        log.LogWarning("{Warning}", Warning);
    }

    /// <summary>Why secrets cannot be sealed (no usable key), or null.</summary>
    public string? Problem { get; }

    /// <summary>Why the key is weaker than it should be (a generated key file), or null.</summary>
    public string? Warning { get; }

    public string Detail { get; } = "";

    /// <summary>The generated key's file when <c>Webhooks:SecretKey</c> is not set (SQLite), else null.</summary>
    public string? KeyFile { get; }

    public bool CanSeal => _key is not null;

    /// <summary>The secret as stored: <c>v1.</c> + base64(nonce | tag | ciphertext).</summary>
    public string Seal(string webhookId, string secret)
    {
        if (_key is null) throw new InvalidOperationException(Problem);
        var plain = Encoding.UTF8.GetBytes(secret);
        var blob = new byte[NonceSize + TagSize + plain.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key, TagSize);
        gcm.Encrypt(nonce, plain, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), Encoding.UTF8.GetBytes(webhookId));
        return Prefix + Convert.ToBase64String(blob);
    }

    /// <summary>The secret a sealed value holds, or null when it cannot be opened here (another key, another row, tampered).</summary>
    public string? Open(string webhookId, string sealedSecret)
    {
        if (_key is null || !sealedSecret.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        byte[] blob;
        try { blob = Convert.FromBase64String(sealedSecret[Prefix.Length..]); }
        catch (FormatException) { return null; }
        if (blob.Length < NonceSize + TagSize) return null;
        var plain = new byte[blob.Length - NonceSize - TagSize];
        try
        {
            using var gcm = new AesGcm(_key, TagSize);
            gcm.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plain, Encoding.UTF8.GetBytes(webhookId));
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        return Encoding.UTF8.GetString(plain);
    }

    private static byte[] LoadOrCreate(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            var key = RandomNumberGenerator.GetBytes(32);
            try
            {
                var o = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) o.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var f = new FileStream(path, o))
                using (var w = new StreamWriter(f))
                    w.Write(Convert.ToBase64String(key));
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                // another process on the same database created it first: use theirs
            }
        }
        var text = File.ReadAllText(path).Trim();
        var stored = Convert.FromBase64String(text);
        if (stored.Length != 32) throw new InvalidOperationException($"{path} does not hold a 32-byte key (base64).");
        return stored;
    }
}

/// <summary>
/// At start, seals the secrets of webhooks stored in clear (rows written before secrets were encrypted, migration 1000):
/// row by row, each only if it is still unsealed, so two replicas starting together, or a second start, change nothing twice.
/// </summary>
internal sealed class WebhookSecretSealer(Db db, WebhookSecrets secrets, ILogger<WebhookSecretSealer> log) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        if (!secrets.CanSeal) return;
        List<(string Id, string Secret)> clear;
        await using (var conn = await db.OpenAsync(ct))
            clear = await WebhookStore.UnsealedAsync(conn, ct);
        var sealedCount = 0;
        foreach (var (id, secret) in clear)
        {
            await using var s = await WebhookStore.BeginAsync(db, ct);
            sealedCount += await WebhookStore.SealAsync(s, id, secret, secrets.Seal(id, secret), ct);
            await s.CommitAsync(ct);
        }
        if (sealedCount > 0) log.LogInformation("Encrypted the stored secrets of {Count} webhook(s)", sealedCount);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}

/// <summary><c>webhooks</c> in <c>/health</c>: how webhook secrets are kept (degraded with a generated key file, or without a usable key).</summary>
internal sealed class WebhookSecretsHealthCheck(WebhookSecrets secrets) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) => Task.FromResult(
        secrets.Problem is { } p ? HealthCheckResult.Degraded($"degraded: {p}")
        : secrets.Warning is { } w ? HealthCheckResult.Degraded($"degraded: {w}")
        : HealthCheckResult.Healthy(secrets.Detail));
}
