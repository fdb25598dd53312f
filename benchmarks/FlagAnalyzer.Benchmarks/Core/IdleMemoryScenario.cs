using System.Text;
using FlagAnalyzer.Benchmarks.Common;

namespace FlagAnalyzer.Benchmarks.Core;

/// <summary>
/// Resident memory of the API process when idle: started alone (no Redis, no LLM), warmed with a few
/// requests of each kind, then given a settle period and sampled several times.
/// <c>dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- api-memory</c>
/// </summary>
public sealed class IdleMemoryScenario : IScenario
{
    public string Name => "api-memory";

    public async Task<int> RunAsync(string[] args)
    {
        await using var api = await ApiProcess.StartAsync();
        using var http = api.CreateClient();
        var afterStart = api.ResidentBytes();

        var created = await http.PostAsync("/api/flags", new StringContent("""{"name":"memory-probe"}""", Encoding.UTF8, "application/json"));
        created.EnsureSuccessStatusCode();
        for (var i = 0; i < 20; i++)
        {
            await http.GetStringAsync("/api/flags");
            await http.GetStringAsync("/api/flags/memory-probe");
            await http.PostAsync("/api/metrics", new StringContent(
                """{"flagId":"memory-probe","errorRate":0.5,"latencyP50":40,"latencyP99":120,"requestCount":1000}""", Encoding.UTF8, "application/json"));
            await http.GetStringAsync("/health");
        }

        var samples = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2)); // idle is defined by time passing without requests
            samples.Add(api.ResidentBytes());
        }
        Console.WriteLine($"api-memory: after start {afterStart / 1048576.0:0.0} MB; idle after warm-up {samples.Min() / 1048576.0:0.0}–{samples.Max() / 1048576.0:0.0} MB RSS (target < 150 MB)");
        return samples.Max() < 150L * 1024 * 1024 ? 0 : 1;
    }
}
