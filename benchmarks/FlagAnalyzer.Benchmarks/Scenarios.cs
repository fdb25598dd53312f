namespace FlagAnalyzer.Benchmarks;

/// <summary>A measurement that is not a BenchmarkDotNet micro-benchmark (a load on loopback, a detection-quality table).</summary>
public interface IScenario
{
    /// <summary>The subcommand that runs it: <c>dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- NAME</c>.</summary>
    string Name { get; }
    Task<int> RunAsync(string[] args);
}

/// <summary>Finds every <see cref="IScenario"/> in this assembly, so each owner adds a class and touches nothing else.</summary>
public static class Scenarios
{
    public static bool TryRun(string[] args, out int exitCode)
    {
        exitCode = 0;
        var scenario = typeof(Scenarios).Assembly.GetTypes()
            .Where(t => typeof(IScenario).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IScenario)Activator.CreateInstance(t)!)
            .FirstOrDefault(s => string.Equals(s.Name, args[0], StringComparison.OrdinalIgnoreCase));
        if (scenario is null) return false;
        exitCode = scenario.RunAsync(args[1..]).GetAwaiter().GetResult();
        return true;
    }
}
