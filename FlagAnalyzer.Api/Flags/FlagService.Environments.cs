using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

public sealed partial class FlagService
{
    /// <summary>
    /// Inside the write: a flag that enters an environment (created, imported or moved) registers it when it is new —
    /// the seed lets a flag name any environment, and every flag's environment is an environment — and is refused, on
    /// <paramref name="field"/>, when it is retired. A flag that stays where it is is not asked about, so flags of a
    /// retired environment can still be changed.
    /// </summary>
    private async Task<FlagWriteResult?> AdmitEnvironmentAsync(WriteScope s, Flag? before, Flag after, string field, CancellationToken ct)
    {
        if (environments is null || before?.TargetEnvironment == after.TargetEnvironment) return null;
        return await environments.AdmitAsync(s.Connection, s.Transaction, after.TargetEnvironment, ct) == EnvironmentAdmission.Retired
            ? new FlagWriteResult.Invalid(new Validator().Add(field, $"the environment '{after.TargetEnvironment}' is retired: it takes no new flags"))
            : null;
    }
}
