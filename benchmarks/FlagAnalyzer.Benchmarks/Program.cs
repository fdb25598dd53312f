using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- --filter '*'
// Non-BenchmarkDotNet measurements (load, detection quality) are subcommands: see benchmarks/README.md.
if (args.Length > 0 && FlagAnalyzer.Benchmarks.Scenarios.TryRun(args, out var exit)) return exit;
BenchmarkSwitcher.FromAssembly(typeof(FlagAnalyzer.Benchmarks.Scenarios).Assembly).Run(args);
return 0;
