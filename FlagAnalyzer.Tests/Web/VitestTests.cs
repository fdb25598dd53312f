using System.Diagnostics;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Web;

/// <summary>
/// The web UI's component tests (Vitest, in FlagAnalyzer.Web/src/**/*.test.ts[x]) run as part of `dotnet test`.
/// node_modules is installed by the Api project's build (Ui/WebUi.targets), which this project depends on.
/// </summary>
public sealed class VitestTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ComponentTests_AllPass()
    {
        Assert.True(Directory.Exists(Path.Combine(RepoPaths.Web, "node_modules")),
            "FlagAnalyzer.Web/node_modules is missing: build FlagAnalyzer.Api (it runs npm ci) or run 'npm ci' in FlagAnalyzer.Web.");

        var psi = new ProcessStartInfo("npx", "--no vitest run --reporter=default")
        {
            WorkingDirectory = RepoPaths.Web,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["CI"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["FORCE_COLOR"] = "0";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"vitest did not finish within 5 minutes.\n{await stdout}\n{await stderr}");
        }

        var text = $"{await stdout}\n{await stderr}";
        output.WriteLine(text);
        // test.sh prints Vitest's own count beside the .NET tests' (this test counts as one of those)
        var summary = Environment.GetEnvironmentVariable("FLAGANALYZER_VITEST_SUMMARY");
        var tests = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Tests ", StringComparison.Ordinal));
        if (!string.IsNullOrEmpty(summary) && tests is not null)
            await File.WriteAllTextAsync(summary, System.Text.RegularExpressions.Regex.Replace(tests["Tests ".Length..].Trim(), " {2,}", " ") + "\n");

        Assert.True(process.ExitCode == 0, $"vitest failed (exit {process.ExitCode}):\n{text}");
        Assert.Contains("passed", text);
    }
}
