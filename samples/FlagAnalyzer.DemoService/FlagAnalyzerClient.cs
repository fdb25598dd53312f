using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace FlagAnalyzer.DemoService;

/// <summary>What the demo asks FlagAnalyzer: set up the flag and its plan, evaluate it (OpenFeature OFREP), and read its rollout.</summary>
public sealed class FlagAnalyzerClient(HttpClient http, Microsoft.Extensions.Options.IOptions<DemoOptions> options, ILogger<FlagAnalyzerClient> logger)
{
    private readonly DemoOptions _o = options.Value;

    /// <summary>An OFREP answer; <paramref name="Error"/> is set (and the rest empty) when the API answered an error status.</summary>
    public sealed record Evaluation(string? Variant, string? Reason, JsonElement Value, string? Error = null);

    /// <summary>Creates the flag (disabled) and a short plan, and starts it, unless a plan is already running.</summary>
    public async Task SetUpAsync(CancellationToken ct)
    {
        var key = Uri.EscapeDataString(_o.FlagKey);
        await SendAsync(HttpMethod.Post, "/api/flags", new { name = _o.FlagKey, description = "Demo: a new checkout path, rolled out by the guardian", targetEnvironment = "production", owner = "demo" }, _o.EditorKey, ct);
        var plan = await SendAsync(HttpMethod.Put, $"/api/flags/{key}/rollout", new
        {
            stages = new object[]
            {
                new { percentage = 10, minDurationSeconds = _o.StageSeconds, minRequests = _o.StageMinRequests },
                new { percentage = 25, minDurationSeconds = _o.StageSeconds, minRequests = _o.StageMinRequests },
                new { percentage = 50, minDurationSeconds = _o.StageSeconds, minRequests = _o.StageMinRequests },
                new { percentage = 100, minDurationSeconds = 0, minRequests = 0 },
            },
            changedBy = "demo-service",
        }, _o.EditorKey, ct);
        if (plan.IsSuccessStatusCode) await SendAsync(HttpMethod.Post, $"/api/flags/{key}/rollout/start?changedBy=demo-service", null, _o.EditorKey, ct);
        logger.LogInformation("Demo flag {Flag}: plan {Status}", _o.FlagKey, plan.IsSuccessStatusCode ? "started" : $"left as it is ({(int)plan.StatusCode})");
    }

    /// <summary><c>POST /ofrep/v1/evaluate/flags/{key}</c> with the request's targeting key; an error status comes back as <see cref="Evaluation.Error"/>.</summary>
    public async Task<Evaluation> EvaluateAsync(string targetingKey, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Post, $"/ofrep/v1/evaluate/flags/{Uri.EscapeDataString(_o.FlagKey)}",
            new { context = new { targetingKey } }, _o.SdkKey, ct);
        if (!r.IsSuccessStatusCode) return new Evaluation(null, null, default, ((int)r.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var body = await r.Content.ReadFromJsonAsync<JsonElement>(ct);
        return new Evaluation(Str(body, "variant"), Str(body, "reason"), body.TryGetProperty("value", out var v) ? v.Clone() : default);
    }

    /// <summary>The flag's rollout percentage while it is enabled; null when it is disabled or the API answers an error.</summary>
    public async Task<double?> RolloutAsync(CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Get, $"/api/flags/{Uri.EscapeDataString(_o.FlagKey)}", null, _o.EditorKey, ct);
        if (!r.IsSuccessStatusCode) return null;
        var body = await r.Content.ReadFromJsonAsync<JsonElement>(ct);
        return body.GetProperty("enabled").GetBoolean() ? body.GetProperty("rolloutPercentage").GetDouble() : null;
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, string? key, CancellationToken ct)
    {
        var req = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        if (!string.IsNullOrEmpty(key)) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(req, ct);
    }
}
