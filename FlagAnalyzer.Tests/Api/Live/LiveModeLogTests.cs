using FlagAnalyzer.Tests.Support;
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>Operators can tell from the log whether live updates span replicas.</summary>
public sealed class LiveModeLogTests
{
    [Fact]
    public async Task WithoutRedis_LogsOnceThatLiveUpdatesAreSingleNode()
    {
        var log = new CapturingLoggerProvider();
        await using var app = LiveApp.Start(services: s => s.AddSingleton<ILoggerProvider>(log));

        Assert.Single(log.Messages, m => m.Contains("single node", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Messages, m => m.Contains("Redis backplane on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithRedis_LogsThatTheBackplaneIsOn()
    {
        await using var redis = await RedisServer.StartAsync();
        var log = new CapturingLoggerProvider();
        await using var app = LiveApp.Start(redis.ConnectionString, services: s => s.AddSingleton<ILoggerProvider>(log));

        Assert.Single(log.Messages, m => m.Contains("Redis backplane on", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Messages, m => m.Contains("single node", StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();
        public ILogger CreateLogger(string categoryName) => categoryName.StartsWith("FlagAnalyzer.Api.Live", StringComparison.Ordinal) ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));
        public void Dispose() { }
    }
}
