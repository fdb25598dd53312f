namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary>What a rule is evaluated against: the context's attributes, and flagd's <c>$flagd</c> properties.</summary>
public readonly struct Scope(IReadOnlyDictionary<string, object?> data, string flagKey, TimeProvider clock)
{
    public IReadOnlyDictionary<string, object?> Data { get; } = data;
    public string FlagKey { get; } = flagKey;
    public TimeProvider Clock { get; } = clock;

    public string? TargetingKey => Data.TryGetValue(EvaluationContext.TargetingKeyName, out var k) ? k as string : null;
    public bool HasTargetingKey => Data.TryGetValue(EvaluationContext.TargetingKeyName, out var k) && k is not null;
}
