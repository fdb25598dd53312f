using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.Tests.Fakes;

/// <summary>
/// A stand-in for the external Ollama server, on 127.0.0.1 and a free port, speaking the parts of its HTTP API
/// the product uses: <c>GET /api/tags</c> and <c>POST /api/chat</c> (NDJSON streaming or one JSON object, text or
/// <c>tool_calls</c>). Each test scripts the model through <see cref="Responder"/>, including failures.
/// </summary>
public sealed class FakeOllama : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeChatRequest> _requests = new();

    private FakeOllama(WebApplication app, string model)
    {
        _app = app;
        Model = model;
    }

    public string Model { get; }
    public Uri BaseUri { get; private set; } = null!;
    public string ConnectionString => $"Endpoint={BaseUri};Model={Model}";

    /// <summary>Decides each <c>/api/chat</c> answer; may await (e.g. a gate the test opens).</summary>
    public Func<FakeChatRequest, CancellationToken, Task<FakeReply>> Responder { get; set; } =
        (_, _) => Task.FromResult<FakeReply>(FakeReply.Text("ok"));

    public void Respond(Func<FakeChatRequest, FakeReply> reply) => Responder = (r, _) => Task.FromResult(reply(r));

    /// <summary>Model names <c>/api/tags</c> lists (Ollama adds <c>:latest</c> to untagged pulls).</summary>
    public List<string> PulledModels { get; } = [];

    /// <summary>When set, <c>/api/tags</c> answers with this status instead of the list.</summary>
    public int? TagsStatus { get; set; }

    public IReadOnlyList<FakeChatRequest> Requests => [.. _requests];

    public static async Task<FakeOllama> StartAsync(string model = "llama3.3")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeOllama(app, model);
        fake.PulledModels.Add(model.Contains(':') ? model : model + ":latest");
        app.MapGet("/api/tags", fake.TagsAsync);
        app.MapPost("/api/chat", fake.ChatAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return fake;
    }

    private async Task TagsAsync(HttpContext http)
    {
        if (TagsStatus is { } status)
        {
            http.Response.StatusCode = status;
            return;
        }
        var models = new JsonArray([.. PulledModels.Select(name => (JsonNode)new JsonObject
        {
            ["name"] = name,
            ["model"] = name,
            ["modified_at"] = "2026-11-01T10:00:00.000000000Z",
            ["size"] = 42_520_413_916L,
            ["digest"] = "a6eb4748fd2990ad2952b2335a95a7f952d1a06119a0aa6a2df6cd052a93a3fa",
            ["details"] = new JsonObject
            {
                ["parent_model"] = "",
                ["format"] = "gguf",
                ["family"] = "llama",
                ["families"] = new JsonArray("llama"),
                ["parameter_size"] = "70.6B",
                ["quantization_level"] = "Q4_K_M",
            },
        })]);
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(new JsonObject { ["models"] = models }.ToJsonString());
    }

    private async Task ChatAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: ct);
        var request = new FakeChatRequest(doc.RootElement.Clone());
        _requests.Enqueue(request);
        var reply = await Responder(request, ct);

        switch (reply)
        {
            case FakeReply.StatusReply s:
                http.Response.StatusCode = s.Code;
                http.Response.ContentType = "application/json; charset=utf-8";
                await http.Response.WriteAsync(s.Body, ct);
                return;
            case FakeReply.RawReply raw:
                http.Response.ContentType = "application/x-ndjson";
                await http.Response.WriteAsync(raw.Body, ct);
                return;
            case FakeReply.HangReply:
                // an overloaded model: no answer until the client gives up (bounded, so a broken test still ends)
                try { await Task.Delay(TimeSpan.FromSeconds(60), ct); } catch (OperationCanceledException) { }
                return;
        }

        http.Response.ContentType = request.Stream ? "application/x-ndjson" : "application/json; charset=utf-8";
        if (!request.Stream)
        {
            var message = reply switch
            {
                FakeReply.TextReply t => AssistantMessage(string.Concat(t.Tokens)),
                FakeReply.ToolCallReply c => ToolCallMessage(c),
                _ => throw new InvalidOperationException($"{reply.GetType().Name} needs a streaming request"),
            };
            await WriteLineAsync(http, Done(message), ct);
            return;
        }

        switch (reply)
        {
            case FakeReply.TextReply t:
                foreach (var token in t.Tokens) await WriteLineAsync(http, Chunk(AssistantMessage(token)), ct);
                await WriteLineAsync(http, Done(AssistantMessage("")), ct);
                break;
            case FakeReply.ToolCallReply c:
                await WriteLineAsync(http, Chunk(ToolCallMessage(c)), ct);
                await WriteLineAsync(http, Done(AssistantMessage("")), ct);
                break;
            case FakeReply.DropReply d:
                foreach (var token in d.Tokens) await WriteLineAsync(http, Chunk(AssistantMessage(token)), ct);
                http.Abort();
                break;
        }
    }

    private static async Task WriteLineAsync(HttpContext http, JsonObject line, CancellationToken ct)
    {
        await http.Response.WriteAsync(line.ToJsonString() + "\n", Encoding.UTF8, ct);
        await http.Response.Body.FlushAsync(ct);
    }

    private JsonObject Chunk(JsonObject message) => new()
    {
        ["model"] = Model,
        ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
        ["message"] = message,
        ["done"] = false,
    };

    private JsonObject Done(JsonObject message) => new()
    {
        ["model"] = Model,
        ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
        ["message"] = message,
        ["done"] = true,
        ["done_reason"] = "stop",
        ["total_duration"] = 4_883_583_458L,
        ["load_duration"] = 1_334_875L,
        ["prompt_eval_count"] = 26,
        ["prompt_eval_duration"] = 342_546_000L,
        ["eval_count"] = 282,
        ["eval_duration"] = 4_535_599_000L,
    };

    private static JsonObject AssistantMessage(string content) => new() { ["role"] = "assistant", ["content"] = content };

    private static JsonObject ToolCallMessage(FakeReply.ToolCallReply c) => new()
    {
        ["role"] = "assistant",
        ["content"] = "",
        ["tool_calls"] = new JsonArray([.. c.Calls.Select(call => (JsonNode)new JsonObject
        {
            ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = JsonSerializer.SerializeToNode(call.Arguments) },
        })]),
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One <c>/api/chat</c> request as the product sent it.</summary>
public sealed record FakeChatRequest(JsonElement Body)
{
    /// <summary>Ollama streams unless the request says <c>"stream": false</c>.</summary>
    public bool Stream => !Body.TryGetProperty("stream", out var s) || s.ValueKind != JsonValueKind.False;

    public JsonElement? Format => Body.TryGetProperty("format", out var f) && f.ValueKind != JsonValueKind.Null ? f : null;

    /// <summary>A prediction refinement asks for a JSON schema; a chat offers tools.</summary>
    public bool IsPrediction => Format is not null;

    public IReadOnlyList<string> ToolNames => Body.TryGetProperty("tools", out var t) && t.ValueKind == JsonValueKind.Array
        ? [.. t.EnumerateArray().Select(x => x.GetProperty("function").GetProperty("name").GetString()!)]
        : [];

    public IReadOnlyList<(string Role, string Content)> Messages =>
        [.. Body.GetProperty("messages").EnumerateArray().Select(m => (
            m.GetProperty("role").GetString()!,
            m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : ""))];

    public string LastRole => Messages[^1].Role;

    /// <summary>Tool results sent back to the model, in order.</summary>
    public IReadOnlyList<string> ToolResults => [.. Messages.Where(m => m.Role == "tool").Select(m => m.Content)];
}

/// <summary>What the fake model does with one request.</summary>
public abstract record FakeReply
{
    public sealed record TextReply(IReadOnlyList<string> Tokens) : FakeReply;
    public sealed record ToolCallReply(IReadOnlyList<(string Name, object Arguments)> Calls) : FakeReply;
    public sealed record StatusReply(int Code, string Body) : FakeReply;
    public sealed record RawReply(string Body) : FakeReply;
    public sealed record HangReply : FakeReply;
    public sealed record DropReply(IReadOnlyList<string> Tokens) : FakeReply;

    /// <summary>An answer; streamed one token per NDJSON line, or concatenated when not streaming.</summary>
    public static FakeReply Text(params string[] tokens) => new TextReply(tokens);

    public static FakeReply ToolCall(string name, object arguments) => new ToolCallReply([(name, arguments)]);

    /// <summary>Several tool calls in one answer, as Llama does when it wants more than one thing.</summary>
    public static FakeReply ToolCalls(params (string Name, object Arguments)[] calls) => new ToolCallReply(calls);

    public static FakeReply Status(int code, string error = "model runner has unexpectedly stopped") =>
        new StatusReply(code, new JsonObject { ["error"] = error }.ToJsonString());

    /// <summary>A body that is not the NDJSON Ollama sends.</summary>
    public static FakeReply Raw(string body) => new RawReply(body);

    public static FakeReply Hang() => new HangReply();

    /// <summary>Streams these tokens, then drops the connection mid-answer.</summary>
    public static FakeReply TokensThenDrop(params string[] tokens) => new DropReply(tokens);
}
