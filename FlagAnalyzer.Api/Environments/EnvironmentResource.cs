namespace FlagAnalyzer.Api.Environments;

/// <summary>
/// An environment flags are configured in (development, staging, production, or a custom one). <see cref="Position"/>
/// is the promotion order, 0 first; a retired environment keeps its flags and takes no new ones (there is no delete).
/// </summary>
public sealed record EnvironmentResource(string Name, string Color, int Position, bool Retired, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>Issue 27: a configuration change here is held for a second person's approval (a change request).</summary>
    public bool Protected { get; init; }

    /// <summary>The safety actions that apply directly even when <see cref="Protected"/> (<see cref="EnvironmentRules.SafetyActions"/>; default all).</summary>
    public IReadOnlyList<string> ApprovalExemptions { get; init; } = EnvironmentRules.SafetyActions;
}

/// <summary><c>GET /api/environments</c>: every environment, in promotion order (a handful, so not paged).</summary>
public sealed record EnvironmentList(IReadOnlyList<EnvironmentResource> Items);

public sealed record CreateEnvironmentRequest(string? Name, string? Color);

/// <summary>A partial update: absent (or null) fields stay as they are. <c>position</c> moves the environment there and shifts the others.</summary>
public sealed record PatchEnvironmentRequest(string? Color, int? Position, bool? Retired)
{
    public bool? Protected { get; init; }
    public List<string>? ApprovalExemptions { get; init; }
}
