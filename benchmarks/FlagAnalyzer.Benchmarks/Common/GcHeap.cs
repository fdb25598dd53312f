using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace FlagAnalyzer.Benchmarks.Common;

/// <summary>
/// The managed heap of another .NET process after a full blocking GC, read over its diagnostics port (EventPipe, as
/// dotnet-gcdump does: the GCHeapCollect keyword makes the runtime induce a gen-2 GC; its GCHeapStats event gives the
/// generations' sizes). What objects a process really holds, without the garbage RSS also counts until the server GC
/// collects it or the slack it has not returned to the OS.
/// </summary>
public static class GcHeap
{
    public static long? AfterFullGc(int pid, TimeSpan limit)
    {
        try
        {
            var client = new DiagnosticsClient(pid);
            var keywords = (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.GCHeapCollect);
            using var session = client.StartEventPipeSession(
                [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, keywords)], requestRundown: false);
            using var source = new EventPipeEventSource(session.EventStream);
            var induced = false;
            var result = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            source.Clr.GCStart += e => { if (e.Reason == GCReason.Induced && e.Depth == 2) induced = true; };
            source.Clr.GCHeapStats += e =>
            {
                if (induced) result.TrySetResult(e.GenerationSize0 + e.GenerationSize1 + e.GenerationSize2 + e.GenerationSize3 + e.GenerationSize4);
            };
            var processing = Task.Run(source.Process);
            var done = result.Task.Wait(limit);
            session.Stop();
            processing.Wait(limit);
            return done ? result.Task.Result : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.WriteLine($"  (GC heap not read: {e.GetType().Name}: {e.Message})");
            return null;
        }
    }
}
