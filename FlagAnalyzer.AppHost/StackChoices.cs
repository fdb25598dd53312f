using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.AppHost;

public enum CacheChoice { Container, RedisServer, None }

public enum LlmChoice { Container, External, None }

public enum DbChoice { Sqlite, PostgresContainer, PostgresServer }

/// <summary>
/// Decides what this machine can run: automatic by default, forced by the parameters
/// <c>cache-mode</c> (auto|container|redis-server|none), <c>llm-mode</c> (auto|container|none) and
/// <c>web-mode</c> (auto|none), e.g. <c>--Parameters:cache-mode=redis-server</c>. The store is SQLite unless
/// <c>db-mode</c> says <c>postgres</c> (a container, else Debian's server as a process; <c>postgres-container</c> and
/// <c>postgres-server</c> force one), and <c>api-replicas</c> (default 1) runs that many API processes on it.
/// Every degraded choice is logged once, in one sentence, when the app starts.
/// </summary>
public sealed class StackChoices
{
    private readonly List<string> _fallbacks = [];
    private readonly Lazy<string?> _runtime;
    private readonly Lazy<string?> _postgresBinaries = new(FindPostgresBinaries);

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

        PostgresData = config["Parameters:postgres-data"] is { Length: > 0 } data ? Path.GetFullPath(data) : DefaultPostgresData();
        Db = Mode(config, "db-mode", "sqlite") switch
        {
            "sqlite" => DbChoice.Sqlite,
            "postgres-container" => DbChoice.PostgresContainer,
            "postgres-server" => PostgresBinaries is not null ? DbChoice.PostgresServer
                : throw new InvalidOperationException("db-mode is postgres-server but PostgreSQL's server is not installed: apt-get install postgresql"),
            "postgres" when ContainerRuntimeAnswers => DbChoice.PostgresContainer,
            "postgres" when PostgresBinaries is not null => Fallback(DbChoice.PostgresServer,
                $"No container runtime answered, so PostgreSQL is the postgres server from {PostgresBinaries} as a process, its data in {PostgresData}."),
            "postgres" => Fallback(DbChoice.Sqlite,
                "No container runtime answered and PostgreSQL's server is not installed (apt-get install postgresql), so the API stores its data in SQLite."),
            var other => throw new InvalidOperationException($"db-mode '{other}' is not one of sqlite, postgres, postgres-container, postgres-server."),
        };

        var replicas = config["Parameters:api-replicas"] ?? "1";
        ApiReplicas = int.TryParse(replicas, out var n) && n is >= 1 and <= 16 ? n
            : throw new InvalidOperationException($"api-replicas '{replicas}' is not a whole number from 1 to 16.");
        if (ApiReplicas > 1 && Db == DbChoice.Sqlite)
            ApiReplicas = Fallback(1, $"api-replicas is {n} but the store is SQLite, one process's file, so one API replica runs (db-mode=postgres runs several).");
        else if (ApiReplicas > 1 && Cache == CacheChoice.None)
            Fallback(n, $"api-replicas is {n} without Redis: each replica caches flags and pushes live updates on its own, so a change made on one reaches the others' clients late.");

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
    public DbChoice Db { get; }
    public int ApiReplicas { get; }
    public bool Web { get; }
    public string WebDirectory { get; }

    /// <summary>Debian's PostgreSQL server binaries (initdb, postgres), the newest version installed; null when absent.</summary>
    public string? PostgresBinaries => _postgresBinaries.Value;

    /// <summary>
    /// Where the postgres process keeps its cluster across runs (<c>Parameters:postgres-data</c> to choose): as root,
    /// under the postgres user's home, since the server runs as that user; otherwise under the user's data folder.
    /// </summary>
    public string PostgresData { get; }

    private bool ContainerRuntimeAnswers => _runtime.Value is not null;

    private T Fallback<T>(T choice, string sentence)
    {
        _fallbacks.Add(sentence);
        return choice;
    }

    private static string Mode(IConfiguration config, string parameter, string auto = "auto") =>
        (config[$"Parameters:{parameter}"] ?? auto).Trim().ToLowerInvariant();

    private static string? FindPostgresBinaries()
    {
        if (!Directory.Exists("/usr/lib/postgresql")) return null;
        return Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1, Bin: Path.Combine(d, "bin")))
            .Where(x => x.Version >= 0 && File.Exists(Path.Combine(x.Bin, "initdb")) && File.Exists(Path.Combine(x.Bin, "postgres")))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Bin)
            .FirstOrDefault();
    }

    private static string DefaultPostgresData() =>
        Environment.IsPrivilegedProcess
            ? "/var/lib/postgresql/flaganalyzer"
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "flaganalyzer", "postgres");

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
