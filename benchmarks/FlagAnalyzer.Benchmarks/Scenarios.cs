namespace FlagAnalyzer.Benchmarks;

/// <summary>
/// Measurements that are not BenchmarkDotNet micro-benchmarks (a load against a running server, a detection
/// quality table). Each is a named subcommand; owners register theirs here.
/// </summary>
public static class Scenarios
{
    private static readonly Dictionary<string, Func<string[], Task<int>>> All = new(StringComparer.OrdinalIgnoreCase)
    {
    };

    public static bool TryRun(string[] args, out int exitCode)
    {
        exitCode = 0;
        if (!All.TryGetValue(args[0], out var run)) return false;
        exitCode = run(args[1..]).GetAwaiter().GetResult();
        return true;
    }
}
