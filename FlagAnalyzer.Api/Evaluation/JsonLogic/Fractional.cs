namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary>
/// flagd's <c>fractional</c>: <c>[bucketBy?, [variant, weight?], …]</c>. The bucketing value is the first
/// argument when it evaluates to a string, else <c>$flagd.flagKey + targetingKey</c> (a null first argument is
/// skipped). Weights default to 1, negative weights count as 0. The result is the chosen variant, or null when
/// there is nothing to bucket by (no or empty targeting key), which lets the flag fall back to its default.
/// </summary>
public sealed class Fractional : Node
{
    private readonly Node? _bucketBy;
    private readonly Node[] _variants;
    private readonly int[] _weights;
    private readonly uint _total;

    /// <param name="bucketBy">the bucketing expression, or null to bucket by flag key + targeting key</param>
    /// <param name="variants">each distribution's variant expression (usually a literal name)</param>
    /// <param name="weights">each distribution's weight, already validated as whole, clamped at 0, summing to at most int.MaxValue</param>
    /// <param name="firstDistribution">the argument index of the first distribution (1 when a bucketing expression leads)</param>
    public Fractional(Node? bucketBy, Node[] variants, int[] weights, int firstDistribution = 0)
    {
        FirstDistribution = firstDistribution;
        _bucketBy = bucketBy;
        _variants = variants;
        _weights = weights;
        _total = (uint)weights.Sum(w => (long)w);
    }

    public IReadOnlyList<Node> Variants => _variants;
    public int FirstDistribution { get; }

    public override object? Evaluate(in Scope scope)
    {
        uint hash;
        var by = _bucketBy?.Evaluate(scope);
        if (by is string s) hash = Murmur3.Hash32(s);
        else if (by is not null) return null;
        else if (scope.TargetingKey is { Length: > 0 } key) hash = Murmur3.Hash32(scope.FlagKey, key);
        else return null;

        var i = Bucketing.Pick(hash, _weights, _total);
        return i < 0 ? null : _variants[i].Evaluate(scope);
    }
}
