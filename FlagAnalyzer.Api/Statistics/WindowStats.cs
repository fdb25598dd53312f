
namespace FlagAnalyzer.Api.Statistics;

/// <summary>
/// Running mean and variance (Welford) plus the values, sorted on demand for rank tests: appended values are
/// merged in one by one when few (the write path), or the whole list is re-sorted when many (a bulk build).
/// </summary>
public sealed class SortedMoments
{
    private const int MergeLimit = 32;
    private readonly List<double> _values = [];
    private int _sortedCount;
    private double _mean, _m2;

    public int Count => _values.Count;
    public double Mean => Count == 0 ? double.NaN : _mean;
    public double Variance => Count < 2 ? 0 : _m2 / (Count - 1);

    public ReadOnlySpan<double> Sorted
    {
        get
        {
            var unsorted = _values.Count - _sortedCount;
            if (unsorted > MergeLimit) _values.Sort();
            else
            {
                for (var i = _sortedCount; i < _values.Count; i++)
                {
                    var x = _values[i];
                    var at = _values.BinarySearch(0, i, x, null);
                    at = at < 0 ? ~at : at;
                    if (at == i) continue;
                    _values.RemoveAt(i);
                    _values.Insert(at, x);
                }
            }
            _sortedCount = _values.Count;
            return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_values);
        }
    }

    public void Add(double x)
    {
        if (_sortedCount == _values.Count && (_values.Count == 0 || x >= _values[^1])) _sortedCount++;
        _values.Add(x);
        var delta = x - _mean;
        _mean += delta / Count;
        _m2 += delta * (x - _mean);
    }
}

/// <summary>Aggregates of a set of metric samples: everything the detectors need, updated one sample at a time.</summary>
public sealed class WindowStats
{
    public int Samples { get; private set; }
    public double Requests { get; private set; }
    /// <summary>Σ errorRate/100 × requestCount.</summary>
    public double Errors { get; private set; }
    private double _errorSquares;
    public double ConversionRequests { get; private set; }
    public double Conversions { get; private set; }
    private double _conversionSquares;
    public SortedMoments P50 { get; } = new();
    public SortedMoments P99 { get; } = new();
    public SortedMoments Satisfaction { get; } = new();

    /// <summary>Error rate as a fraction (0–1).</summary>
    public double ErrorRate => Requests > 0 ? Errors / Requests : double.NaN;
    public double ConversionRate => ConversionRequests > 0 ? Conversions / ConversionRequests : double.NaN;

    public void Add(MetricSample s)
    {
        if (s.RequestCount <= 0) return; // a sample that saw no traffic says nothing about it
        Samples++;
        double n = s.RequestCount, r = s.ErrorRate / 100;
        Requests += n;
        Errors += r * n;
        _errorSquares += n * r * r;
        if (s.ConversionRate is { } cr)
        {
            var c = cr / 100;
            ConversionRequests += n;
            Conversions += c * n;
            _conversionSquares += n * c * c;
        }
        P50.Add(s.LatencyP50);
        P99.Add(s.LatencyP99);
        if (s.UserSatisfactionScore is { } u) Satisfaction.Add(u);
    }

    /// <summary>
    /// Pearson dispersion of the per-sample error rate around the pooled rate: 1 when samples vary as much as
    /// binomial counting noise predicts, more when traffic is burstier. Never below 1, so it only widens tests.
    /// </summary>
    public double ErrorDispersion => Dispersion(_errorSquares, Errors, Requests);
    public double ConversionDispersion => Dispersion(_conversionSquares, Conversions, ConversionRequests);

    private double Dispersion(double squares, double events, double trials)
    {
        if (Samples < 3 || trials <= 0) return 1;
        var p = events / trials;
        if (p <= 0 || p >= 1) return 1;
        // Σ n (r − p)² = Σ n r² − p Σ n r
        var spread = Math.Max(0, squares - p * events) / (p * (1 - p)) / (Samples - 1);
        return Math.Clamp(spread, 1, 100);
    }
}
