
namespace FlagAnalyzer.Api.Statistics;

/// <summary>
/// A flag's samples split around its latest change (the anchor): <see cref="Before"/> it, and after it the
/// <see cref="Treatment"/> (cohort <c>treatment</c> or untagged) and <see cref="Control"/> cohorts. Also the
/// newest samples in arrival order, to tell whether a regression is still going on. Pure and in memory.
/// </summary>
public sealed class FlagWindow(DateTimeOffset? anchor)
{
    public const int RecentCapacity = 20;

    private readonly Queue<MetricSample> _recent = new();

    /// <summary>When the change that splits the window happened; null when the flag has not changed.</summary>
    public DateTimeOffset? Anchor { get; } = anchor;
    public WindowStats Before { get; } = new();
    public WindowStats Treatment { get; } = new();
    public WindowStats Control { get; } = new();
    /// <summary>The highest sample id added, so only newer rows need reading.</summary>
    public long LastSampleId { get; private set; }
    public IReadOnlyCollection<MetricSample> Recent => _recent;
    /// <summary>The treatment samples after the anchor that name their variant, per variant (each compared with control).</summary>
    public IReadOnlyDictionary<string, VariantWindow> Variants => _variants;

    private readonly SortedDictionary<string, VariantWindow> _variants = new(StringComparer.Ordinal);

    public void Add(MetricSample s)
    {
        LastSampleId = Math.Max(LastSampleId, s.Id);
        if (Anchor is { } a && s.Timestamp < a)
        {
            Before.Add(s);
            return;
        }
        if (s.Cohort == Cohort.Control)
        {
            Control.Add(s);
            return;
        }
        Treatment.Add(s);
        if (s.Variant is { } v)
        {
            if (!_variants.TryGetValue(v, out var variant)) _variants[v] = variant = new VariantWindow();
            variant.Add(s);
        }
        if (s.RequestCount <= 0) return;
        _recent.Enqueue(s);
        if (_recent.Count > RecentCapacity) _recent.Dequeue();
    }

    public static FlagWindow Build(DateTimeOffset? anchor, IEnumerable<MetricSample> samples)
    {
        var w = new FlagWindow(anchor);
        foreach (var s in samples.OrderBy(s => s.Id)) w.Add(s);
        return w;
    }
}

/// <summary>One treatment variant's samples after the anchor, and its newest ones.</summary>
public sealed class VariantWindow
{
    private readonly Queue<MetricSample> _recent = new();

    public WindowStats Stats { get; } = new();
    public IReadOnlyCollection<MetricSample> Recent => _recent;

    public void Add(MetricSample s)
    {
        Stats.Add(s);
        if (s.RequestCount <= 0) return;
        _recent.Enqueue(s);
        if (_recent.Count > FlagWindow.RecentCapacity) _recent.Dequeue();
    }
}
