namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// Checks, before a write, that a flag as it would be stored can be served: variants of one type, default and off
/// variant among them, targeting that compiles. Declared here, implemented by Evaluation (which sits above Flags);
/// without an implementation every flag passes.
/// </summary>
public interface IFlagDefinitionCheck
{
    /// <summary>Problems as (JSON path, message), e.g. (<c>targeting.if[1].fractional[2]</c>, "a weight must be a whole number").</summary>
    IReadOnlyList<(string Path, string Message)> Check(Flag flag);
}
