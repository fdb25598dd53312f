using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.AppHost;

public enum CacheChoice { Container, RedisServer, None }

public enum LlmChoice { Container, External, None }

/// <summary>
/// Decides what this machine can run: automatic by default, forced by the parameters
/// <c>cache-mode</c> (auto|container|redis-server|none), <c>llm-mode</c> (auto|container|none) and
/// <c>web-mode</c> (auto|none), e.g. <c>--Parameters:cache-mode=redis-server</c>. Every degraded choice
/// is logged once, in one sentence, when the app starts.
/// </summary>
public sealed class StackChoices
{
    private readonly List<string> _fallbacks = [];
    private readonly Lazy<string?> _runtime;

    public StackChoices(IDistributedApplicationBuilder builder, string webDirectory)
    {
        var config = builder.Configuration;
        _runtime = new(() => ContainerRuntime.Detect(config["ASPIRE_CONTAINER_RUNTIME"] ?? config["DOTNET_ASPIRE_CONTAINER_RUNTIME"]));
        WebDirectory = Path.GetFullPath(webDirectory, builder.AppHostDirectory);

        Cache = Mode(config, "cache-mode") switch
        {
            "none" => Fallback(CacheChoice.None, "cache-mode is none, so the API runs without Redis: in-process flag cache, /health says degraded."),
            "redis-server" => CacheChoice.RedisServer,
            "container" => CacheChoice.Container,
            _ when ContainerRuntimeAnswers => CacheChoice.Container,
            _ when OnPath("redis-server") => Fallback(CacheChoice.RedisServer, "No container runtime answered, so the cache is redis-server from PATH."),
            _ => Fallback(CacheChoice.None, "No container runtime answered and redis-server is not on PATH (apt-get install redis-server), so the API runs without Redis: in-process flag cache, /health says degraded."),
        };

        Llm = Mode(config, "llm-mode") switch
        {
            "none" => Fallback(LlmChoice.None, "llm-mode is none, so the API runs without an LLM: predictions and chat come from statistics."),
            _ when !string.IsNullOrWhiteSpace(config.GetConnectionString("llm")) => LlmChoice.External,
            "container" => LlmChoice.Container,
            _ when ContainerRuntimeAnswers => LlmChoice.Container,
            _ => Fallback(LlmChoice.None, "No container runtime answered and ConnectionStrings:llm is not set, so the API runs without an LLM: predictions and chat come from statistics."),
        };

        Web = Mode(config, "web-mode") switch
        {
            "none" => Fallback(false, "web-mode is none, so the web UI dev server is not started."),
            _ when !File.Exists(Path.Combine(WebDirectory, "package.json")) =>
                Fallback(false, $"{Path.Combine(WebDirectory, "package.json")} does not exist, so the web UI dev server is not started."),
            _ => true,
        };

        builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
        {
            var log = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FlagAnalyzer.AppHost");
            foreach (var sentence in _fallbacks) log.LogWarning("{Fallback}", sentence);
            return Task.CompletedTask;
        });
    }

    public CacheChoice Cache { get; }
    public LlmChoice Llm { get; }
    public bool Web { get; }
    public string WebDirectory { get; }

    private bool ContainerRuntimeAnswers => _runtime.Value is not null;

    private T Fallback<T>(T choice, string sentence)
    {
        _fallbacks.Add(sentence);
        return choice;
    }

    private static string Mode(IConfiguration config, string parameter) =>
        (config[$"Parameters:{parameter}"] ?? "auto").Trim().ToLowerInvariant();

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
