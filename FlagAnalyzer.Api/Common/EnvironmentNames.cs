using System.Text.RegularExpressions;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// The shape of an environment's name where a folder below Flags takes one in a body or a list filter (a metric
/// sample's <c>environment</c>, <c>?environment=</c> on a list): the rule of a flag's <c>targetEnvironment</c>
/// (Flags/FlagRules.CheckEnvironment), so any name a flag can live in passes and nothing else does.
/// </summary>
public static partial class EnvironmentNames
{
    public const int MaxLength = 50;

    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    /// <summary>Adds the error for <paramref name="field"/> when <paramref name="name"/> is given and malformed.</summary>
    public static void Check(string? name, Validator v, string field)
    {
        if (name is not null && !IsValid(name))
            v.Add(field, $"must be development, staging, production or a custom name of 1-{MaxLength} characters a-z 0-9 - _ .");
    }

    // \z, not $: $ also matches before a final newline
    [GeneratedRegex(@"^[a-z0-9._-]+\z")]
    private static partial Regex Pattern();
}
