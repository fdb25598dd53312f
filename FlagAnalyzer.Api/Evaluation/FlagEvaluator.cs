using FlagAnalyzer.Api.Evaluation.JsonLogic;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// Evaluates a compiled flag for a context. Pure apart from the clock (<c>$flagd.timestamp</c>), and it never
/// throws: a failure is an <see cref="EvaluationResult"/> with reason ERROR and an error code.
/// <list type="number">
/// <item>disabled → the off variant (DISABLED);</item>
/// <item>targeting that names a variant → it (TARGETING_MATCH), flagd's semantics; SPLIT when the targeting is
///   only a <c>fractional</c> (flagd says TARGETING_MATCH there; OpenFeature's SPLIT says more);</item>
/// <item>a rollout below 100 % → the default variant for that share of targeting keys, the off variant for the
///   rest (SPLIT), bucketed like <c>fractional</c> by <c>flagKey + targetingKey</c>;</item>
/// <item>otherwise the default variant: STATIC without targeting, DEFAULT when targeting decided nothing.</item>
/// </list>
/// </summary>
public sealed class FlagEvaluator(TimeProvider clock)
{
    public static readonly FlagEvaluator System = new(TimeProvider.System);

    public EvaluationResult Evaluate(CompiledFlag flag, EvaluationContext context)
    {
        try
        {
            if (!flag.Enabled) return flag.Disabled;
            if (flag.Targeting is { } targeting)
            {
                var chosen = targeting.Evaluate(new Scope(context.Attributes, flag.Key, clock));
                if (chosen is not null)
                {
                    var name = chosen switch
                    {
                        string s => s,
                        bool b => b ? "true" : "false",
                        double d => Values.NumberText(d),
                        _ => null,
                    };
                    return name is not null && flag.Matches.TryGetValue(name, out var match)
                        ? match
                        : EvaluationResult.Failure(EvaluationErrorCode.General,
                            $"targeting of flag '{flag.Key}' chose '{Values.ToText(chosen)}', which is not one of its variants");
                }
            }

            if (flag.RolloutThreshold >= Bucketing.RolloutBuckets)
                return flag.Targeting is null ? flag.Static : flag.DefaultAfterTargeting;
            if (flag.RolloutThreshold <= 0) return flag.SplitOut;
            if (context.TargetingKey is not { Length: > 0 } key)
                return EvaluationResult.Failure(EvaluationErrorCode.TargetingKeyMissing,
                    $"flag '{flag.Key}' is rolled out to a share of users and needs a targetingKey to pick one");
            return Bucketing.InRollout(flag.Key, key, flag.RolloutThreshold) ? flag.SplitIn : flag.SplitOut;
        }
        catch (Exception ex)
        {
            return EvaluationResult.Failure(EvaluationErrorCode.General, $"evaluation of flag '{flag.Key}' failed: {ex.Message}");
        }
    }
}
