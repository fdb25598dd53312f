using FlagAnalyzer.Tests.Support;
using System.Text.Json;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Assistant;

public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>The app's log records, with a way to await one: failures the product only logs are observable.</summary>
public sealed class LogRecorder : ILoggerProvider
{
    private readonly List<LogEntry> _entries = [];
    private readonly List<(Func<LogEntry, bool> Match, TaskCompletionSource<LogEntry> Done)> _waiters = [];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public IReadOnlyList<LogEntry> Entries
    {
        get { lock (_entries) return [.. _entries]; }
    }

    public Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match)
    {
        lock (_entries)
        {
            if (_entries.FirstOrDefault(match) is { } seen) return Task.FromResult(seen);
            var tcs = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, tcs));
            return tcs.Task.WaitAsync(AssistantApp.Patience);
        }
    }

    private void Add(LogEntry e)
    {
        lock (_entries)
        {
            _entries.Add(e);
            foreach (var w in _waiters.Where(w => w.Match(e)).ToList())
            {
                w.Done.TrySetResult(e);
                _waiters.Remove(w);
            }
        }
    }

    public void Dispose() { }

    private sealed class Logger(LogRecorder owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Add(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
        }
    }
}

/// <summary>The real API on a temp SQLite file, optionally wired to a <see cref="FakeOllama"/>, with its live events and logs recorded.</summary>
public sealed class AssistantApp : IAsyncDisposable
{
    /// <summary>How long a test waits for a signal before failing (a bound, not a sleep).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private AssistantApp(ApiFactory api, FakeOllama? ollama, LiveRecorder live, LogRecorder logs)
    {
        Api = api;
        Ollama = ollama;
        Live = live;
        Logs = logs;
        Client = api.CreateClient();
    }

    public ApiFactory Api { get; }
    public FakeOllama? Ollama { get; }
    public LiveRecorder Live { get; }
    public LogRecorder Logs { get; }
    public HttpClient Client { get; }

    public static async Task<AssistantApp> StartAsync(bool withModel, Action<Dictionary<string, string?>>? settings = null)
    {
        var ollama = withModel ? await FakeOllama.StartAsync() : null;
        var live = new LiveRecorder();
        var logs = new LogRecorder();
        var api = new ApiFactory
        {
            ConfigureServices = s =>
            {
                s.AddSingleton<ILiveEventSink>(live);
                s.AddSingleton<ILoggerProvider>(logs);
            },
        };
        if (ollama is not null) api.Settings["ConnectionStrings:llm"] = ollama.ConnectionString;
        settings?.Invoke(api.Settings);
        return new AssistantApp(api, ollama, live, logs);
    }

    public async Task<JsonElement> CreateFlagAsync(string name, bool enabled = false, double rollout = 0, string environment = "production",
        string description = "")
    {
        var response = await Client.PostJson("/api/flags", new
        {
            name, description, enabled, rolloutPercentage = rollout, targetEnvironment = environment, owner = "checkout-team",
        });
        return await response.ReadAs<JsonElement>();
    }

    /// <summary>Records a change through the seed's endpoint; returns the response (change and statistical prediction).</summary>
    public async Task<JsonElement> RecordChangeAsync(string flagId, string changeType, bool enabled, double rollout)
    {
        var response = await Client.PostJson("/api/flags/change", new
        {
            flagId, changeType, newValue = new { enabled, rolloutPercentage = rollout }, changedBy = "ana@example.com",
        });
        return await response.ReadAs<JsonElement>();
    }

    public async Task<JsonElement> AskAsync(string message, string? sessionId = null)
    {
        var response = await Client.PostJson("/api/chat", new { message, sessionId });
        return await response.ReadAs<JsonElement>();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Api.DisposeAsync();
        if (Ollama is not null) await Ollama.DisposeAsync();
    }
}
