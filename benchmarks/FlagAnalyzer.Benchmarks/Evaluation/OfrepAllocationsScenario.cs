using System.Diagnostics.Tracing;
using System.Collections.Concurrent;

namespace FlagAnalyzer.Benchmarks.Evaluation;

/// <summary>
/// <c>ofrep-allocations</c>: where an OFREP evaluation's allocations go. The pipeline of <see cref="OfrepPipelineBenchmarks"/>
/// in process: bytes allocated per request (every thread, <c>GC.GetTotalAllocatedBytes</c>) for OFREP and for the bare
/// endpoint over the same TestServer client, then the runtime's sampled allocation events (one per ~100 KB allocated, with
/// the type that crossed the line) during the OFREP requests, by type: a profile of what the pipeline allocates that
/// needs no profiler and does not depend on the machine being quiet. Options: <c>--requests 20000 --top 40</c>.
/// </summary>
public sealed class OfrepAllocationsScenario : IScenario
{
    public string Name => "ofrep-allocations";

    public async Task<int> RunAsync(string[] args)
    {
        var requests = Common.Measure.Option(args, "--requests", 20_000);
        var top = Common.Measure.Option(args, "--top", 40);
        var bench = new OfrepPipelineBenchmarks();
        await bench.Setup();
        try
        {
            var (ofrep, bare) = bench.Clients;
            async Task<double> PerRequest(HttpClient client)
            {
                for (var i = 0; i < 2_000; i++) (await bench.Send(client)).Dispose(); // warm up
                var before = GC.GetTotalAllocatedBytes(precise: true);
                for (var i = 0; i < requests; i++) (await bench.Send(client)).Dispose();
                return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)requests;
            }
            var bareBytes = await PerRequest(bare);
            var ofrepBytes = await PerRequest(ofrep);
            Console.WriteLine($"allocated per request: bare {bareBytes:F0} B, OFREP {ofrepBytes:F0} B, OFREP beyond bare {ofrepBytes - bareBytes:F0} B ({requests} sequential requests each)");

            // the same sampling over the bare endpoint: what both pay (the TestServer client and server) cancels out
            async Task<Dictionary<string, int>> Sample(HttpClient client)
            {
                using var listener = new AllocationSampler();
                for (var i = 0; i < requests; i++) (await bench.Send(client)).Dispose();
                return new Dictionary<string, int>(listener.Samples);
            }
            var bareSamples = await Sample(bare);
            var ofrepSamples = await Sample(ofrep);
            // one event per ~100 KB allocated: samples × 100 KB ÷ requests estimates a type's bytes per request
            double PerRequestBytes(int samples) => samples * 100_000.0 / requests;
            Console.WriteLine($"sampled allocation events over {requests} requests each (one per ≈ 100 KB): bare {bareSamples.Values.Sum()}, OFREP {ofrepSamples.Values.Sum()}");
            Console.WriteLine("estimated bytes per request by type, OFREP beyond bare (largest first):");
            foreach (var type in ofrepSamples.Keys.Union(bareSamples.Keys)
                         .Select(t => (Type: t, O: ofrepSamples.GetValueOrDefault(t), B: bareSamples.GetValueOrDefault(t)))
                         .OrderByDescending(x => x.O - x.B).Take(top))
                Console.WriteLine($"  {PerRequestBytes(type.O - type.B),7:F0} B  (OFREP {PerRequestBytes(type.O),6:F0}, bare {PerRequestBytes(type.B),6:F0})  {type.Type}");
        }
        finally
        {
            await bench.Cleanup();
        }
        return 0;
    }

    /// <summary>GCAllocationTick events (the runtime's allocation sampling, keyword GC at Verbose), counted by type name.</summary>
    private sealed class AllocationSampler : EventListener
    {
        public ConcurrentDictionary<string, int> Samples { get; } = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || e.PayloadNames is null) return;
            var i = e.PayloadNames.IndexOf("TypeName");
            if (i >= 0 && e.Payload?[i] is string type) Samples.AddOrUpdate(type, 1, (_, n) => n + 1);
        }
    }
}
