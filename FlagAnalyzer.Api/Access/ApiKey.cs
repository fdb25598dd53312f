namespace FlagAnalyzer.Api.Access;

/// <summary>An API key as the API shows it: never its secret, never its hash.</summary>
public sealed record ApiKey(
    string Id,
    string Prefix,
    string Name,
    ApiRole Role,
    string? Environment,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>A key with the hash of its secret, as stored; stays inside Access.</summary>
internal sealed record StoredApiKey(ApiKey Key, byte[] SecretHash);

/// <summary><c>POST /api/keys</c>: the key and, this once, its secret.</summary>
public sealed record CreatedApiKey(ApiKey Key, string Secret);

public sealed record CreateApiKeyRequest(string? Name, string? Role, string? Environment);

/// <summary>One audited action on a key (created, revoked), with the key that did it.</summary>
public sealed record ApiKeyEvent(string Id, string KeyId, string Action, string? ActorKeyId, string ActorName, DateTimeOffset Timestamp);

public static class ApiKeyActions
{
    public const string Created = "created";
    public const string Revoked = "revoked";
}
