using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Environments;

public static partial class EnvironmentRules
{
    /// <summary>The same rule as a flag's <c>targetEnvironment</c> (Flags/FlagRules.CheckEnvironment), so every flag's environment can be one.</summary>
    public const int MaxNameLength = 50;

    /// <summary>The colour of an environment registered without one (slate), as the migration gives custom names.</summary>
    public const string DefaultColor = "#64748b";

    [GeneratedRegex(@"^[a-z0-9._-]+\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^#[0-9a-fA-F]{6}\z")]
    private static partial Regex ColorPattern();

    /// <summary>
    /// The safety actions a protected environment may let through without approval (issue 27): disabling a flag (a
    /// patch whose only change is enabled → false), the guardian's rollback, a rollout's abort.
    /// </summary>
    public const string KillSwitch = "kill_switch";
    public const string GuardianRollback = "guardian_rollback";
    public const string RolloutAbort = "rollout_abort";
    public static readonly IReadOnlyList<string> SafetyActions = [KillSwitch, GuardianRollback, RolloutAbort];

    public static bool IsName(string? name) => name is { Length: > 0 and <= MaxNameLength } && NamePattern().IsMatch(name);

    public static Validator Validate(CreateEnvironmentRequest r)
    {
        var v = new Validator();
        if (string.IsNullOrEmpty(r.Name)) v.Add("name", "is required");
        else if (!IsName(r.Name)) v.Add("name", $"must be 1-{MaxNameLength} characters a-z 0-9 - _ .");
        CheckColor(r.Color, v);
        return v;
    }

    public static Validator Validate(PatchEnvironmentRequest r)
    {
        var v = new Validator();
        CheckColor(r.Color, v);
        if (r.Position is < 0) v.Add("position", "must be 0 or more (0 is the first environment of the promotion path)");
        if (r.ApprovalExemptions is { } exempt)
        {
            // every safety action is the environment's choice (issue 27): a guardian rollback or an abort it does not exempt
            // is held as a change request like any other change (Rollouts asks the gate with the action's name)
            if (exempt.FirstOrDefault(a => !SafetyActions.Contains(a)) is { } unknown)
                v.Add("approvalExemptions", $"'{unknown}' is not a safety action; they are {string.Join(", ", SafetyActions)}");
        }
        return v;
    }

    private static void CheckColor(string? color, Validator v)
    {
        if (color is not null && !ColorPattern().IsMatch(color)) v.Add("color", "must be a hex colour like #4f46e5");
    }
}
