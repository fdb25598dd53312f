using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Access;

/// <summary><c>auth</c> in /health: Degraded — and said plainly — when authentication is disabled or no key exists yet.</summary>
internal sealed class AccessHealthCheck(IOptions<AccessOptions> options, AccessState state) : IHealthCheck
{
    public const string DisabledText = "authentication is DISABLED (Auth:Mode=disabled): anyone who can reach this API can change everything";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) => Task.FromResult(
        options.Value.Mode == AuthMode.Disabled ? HealthCheckResult.Degraded(DisabledText)
        : !state.AnyKey ? HealthCheckResult.Degraded("no API key exists: set Auth:BootstrapAdminKey and restart")
        : HealthCheckResult.Healthy("API keys required"));
}
