using System.Collections.Concurrent;
using System.Diagnostics;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// Tells how the flag cache answered one request (<c>flag.cache.result</c>: local, hit, miss, unavailable).
/// Each request carries its own W3C trace id, so requests of tests running in parallel never mix.
/// </summary>
public sealed class CacheResults : IDisposable
{
    private readonly ConcurrentBag<Activity> _spans = [];
    private readonly ActivityListener _listener;

    public CacheResults()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "FlagAnalyzer.Flags" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>GETs <paramref name="path"/>; returns the response and the result of its cache lookup (null if none).</summary>
    public async Task<(HttpResponseMessage Response, string? CacheResult)> GetAsync(HttpClient client, string path)
    {
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        var lookup = _spans.Where(s => s.TraceId == traceId && s.OperationName == "flag-cache get").ToList();
        return (response, lookup.Count == 0 ? null : (string?)lookup[^1].GetTagItem(FlagCacheTelemetry.ResultTag));
    }

    public void Dispose() => _listener.Dispose();
}
