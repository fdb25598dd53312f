using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace FlagAnalyzer.Tests.Api.Webhooks;

/// <summary>One request a receiver got.</summary>
public sealed record ReceivedHook(string Body, string? Signature, string? EventType, int AnsweredWith)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A real HTTP receiver on 127.0.0.1 (HttpListener): records every request, answers with <see cref="Answer"/>
/// (by 0-based request number), and lets a test await arrivals instead of sleeping.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Channel<ReceivedHook> _arrivals = Channel.CreateUnbounded<ReceivedHook>();
    private readonly List<ReceivedHook> _all = [];
    private readonly Task _loop;

    public Func<int, int> Answer { get; set; } = _ => 200;
    public string Url { get; }

    public WebhookReceiver(string path = "/hook")
    {
        for (var tries = 0; ; tries++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                Url = $"http://127.0.0.1:{port}{path}";
                break;
            }
            catch (HttpListenerException) when (tries < 5) { }
        }
        _loop = Task.Run(LoopAsync);
    }

    public IReadOnlyList<ReceivedHook> All { get { lock (_all) return _all.ToList(); } }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            int status;
            ReceivedHook hook;
            lock (_all)
            {
                status = Answer(_all.Count);
                hook = new ReceivedHook(body, ctx.Request.Headers["X-FlagAnalyzer-Signature"], ctx.Request.Headers["X-FlagAnalyzer-Event"], status);
                _all.Add(hook);
            }
            ctx.Response.StatusCode = status;
            ctx.Response.Close();
            _arrivals.Writer.TryWrite(hook);
        }
    }

    /// <summary>The next request to arrive, within the generous arrival bound.</summary>
    public async Task<ReceivedHook> NextAsync()
    {
        using var cts = new CancellationTokenSource(Support.Wait.Arrival);
        return await _arrivals.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Whether a request arrives within <paramref name="within"/> (only to show that none comes after a state that forbids it).</summary>
    public bool TryTake(out ReceivedHook? hook) => _arrivals.Reader.TryRead(out hook);

    /// <summary>Checks a signature header the way the README tells receivers to.</summary>
    public static bool Verify(string secret, string body, string? header)
    {
        if (header is null) return false;
        var parts = header.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{parts["t"]}.{body}")));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts["v1"]));
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try { await _loop; } catch { }
    }
}
