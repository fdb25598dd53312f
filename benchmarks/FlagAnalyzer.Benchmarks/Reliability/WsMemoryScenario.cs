using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Benchmarks.Common;

namespace FlagAnalyzer.Benchmarks.Reliability;

/// <summary>
/// <c>ws-memory</c>: what non-reading <c>/ws</c> clients cost the API. The API process alone (no Redis); one flag
/// whose reserved <c>rules</c> array makes each <c>flag.updated</c> event about 500 KB; N clients (default 5) connect
/// to <c>/ws</c> and never read; M PATCHes (default 300) toggle the flag. API RSS: after start, after the flood with
/// the clients connected, and after they left (sampled for 10 s, lowest shown). Options: <c>--clients 5 --changes 300</c>.
/// </summary>
public sealed class WsMemoryScenario : IScenario
{
    public string Name => "ws-memory";

    public async Task<int> RunAsync(string[] args)
    {
        var clients = Measure.Option(args, "--clients", 5);
        var changes = Measure.Option(args, "--changes", 300);
        // the flag changes are PATCHes in a tight loop from one key (and must all succeed): the write limit is lifted so
        // the loop is not paced by 429s
        await using var api = await ApiProcess.StartAsync(ApiProcess.WithWriteLimitLifted());
        using var http = api.CreateClient();
        var rules = Enumerable.Range(0, 5000).Select(i => new { attribute = $"user.segment.{i:D6}", op = "in", values = new[] { "alpha", "beta", "gamma" } }).ToArray();
        var created = await http.PostAsJsonAsync("/api/flags", new { name = "large", rules });
        created.EnsureSuccessStatusCode();
        var eventBytes = (await created.Content.ReadAsByteArrayAsync()).Length;
        await Task.Delay(TimeSpan.FromSeconds(2)); // let start-up allocations settle: idle is defined by time passing
        var start = api.ResidentBytes();

        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < clients; i++)
        {
            var ws = new ClientWebSocket();
            await ws.ConnectAsync(new UriBuilder(api.BaseAddress) { Scheme = "ws", Path = "/ws", Query = $"access_token={ApiProcess.AdminKey}" }.Uri, CancellationToken.None);
            sockets.Add(ws); // never read
        }
        for (var i = 0; i < changes; i++)
        {
            using var r = await http.PatchAsync("/api/flags/large", new StringContent($"{{\"enabled\":{(i % 2 == 0 ? "true" : "false")}}}", Encoding.UTF8, "application/json"));
            r.EnsureSuccessStatusCode();
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // the pump delivers in the background
        var flooded = api.ResidentBytes();

        foreach (var ws in sockets) ws.Abort();
        foreach (var ws in sockets) ws.Dispose();
        var after = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            after.Add(api.ResidentBytes());
        }
        var health = await http.GetFromJsonAsync<JsonElement>("/health");
        Console.WriteLine($"ws-memory: {clients} non-reading /ws clients, {changes} changes of a flag of {eventBytes / 1024} KB; {Environment.ProcessorCount} cores shared; load average {Measure.LoadAverage()}");
        Console.WriteLine($"  API RSS: start {start / 1048576.0:F0} MiB -> flooded {flooded / 1048576.0:F0} MiB -> clients gone {after.Min() / 1048576.0:F0} MiB (10 s later: {after[^1] / 1048576.0:F0} MiB); health {health.GetProperty("status").GetString()}");
        return 0;
    }
}
