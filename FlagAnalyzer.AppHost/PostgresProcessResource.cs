using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace FlagAnalyzer.AppHost;

/// <summary>
/// Debian's PostgreSQL server (package <c>postgresql</c>) as a plain process, for machines without a container
/// engine: a private data directory, initialized with one database on the first run and kept across runs, listening
/// on loopback only. It hands its references the connection string a PostgreSQL container's database would
/// (<c>Host=…;Port=…;Username=postgres;Database=…</c>; trust authentication, so no password: loopback only).
/// </summary>
public sealed class PostgresProcessResource(string name, string command, string workingDirectory, string databaseName, string dataDirectory)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    internal const string EndpointName = "tcp";

    public string DatabaseName { get; } = databaseName;

    public string DataDirectory { get; } = dataDirectory;

    public EndpointReference Endpoint => field ??= new EndpointReference(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create(
            $"Host={Endpoint.Property(EndpointProperty.Host)};Port={Endpoint.Property(EndpointProperty.Port)};Username=postgres;Database={DatabaseName}");
}

public static class PostgresProcessResourceExtensions
{
    // $1 bin folder, $2 data directory, $3 port, $4 database. initdb and the database on the first run only (the
    // database through single-user mode, before anything listens); then exec, so stopping the resource stops postgres.
    private const string InitAndRun = """
        set -e
        bin="$1"; data="$2"; port="$3"; db="$4"
        if [ ! -s "$data/PG_VERSION" ]; then
          mkdir -p "$data"
          "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C
          echo "CREATE DATABASE \"$db\"" | "$bin/postgres" --single -D "$data" postgres
          echo "initialized a new PostgreSQL cluster in $data with the database $db"
        fi
        exec "$bin/postgres" -D "$data" -p "$port" -c listen_addresses=localhost -c unix_socket_directories=
        """;

    /// <summary>
    /// Adds the server from <paramref name="binDirectory"/> on <paramref name="dataDirectory"/>. initdb and postgres
    /// refuse to run as root, so as root it runs as the <c>postgres</c> user (which Debian's package creates).
    /// </summary>
    public static IResourceBuilder<PostgresProcessResource> AddPostgresProcess(this IDistributedApplicationBuilder builder, string name,
        string databaseName, string binDirectory, string dataDirectory)
    {
        string[] script = ["-c", InitAndRun, name, binDirectory, dataDirectory];
        var (command, leading) = Environment.IsPrivilegedProcess ? ("runuser", new[] { "-u", "postgres", "--", "/bin/sh" }) : ("/bin/sh", []);
        var resource = new PostgresProcessResource(name, command, builder.AppHostDirectory, databaseName, dataDirectory);
        var healthKey = $"{name}-ready";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthKey, _ => new PostgresReadyCheck(resource), null, null));

        return builder.AddResource(resource)
            // not proxied: the API talks to postgres itself, as it would to a server of its own
            .WithEndpoint(name: PostgresProcessResource.EndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(ctx =>
            {
                foreach (var a in leading.Concat(script)) ctx.Args.Add(a);
                ctx.Args.Add(resource.Endpoint.Property(EndpointProperty.TargetPort));
                ctx.Args.Add(databaseName);
            })
            .WithHealthCheck(healthKey);
    }
}

/// <summary>Healthy once the server answers a query in the database it serves.</summary>
internal sealed class PostgresReadyCheck(PostgresProcessResource postgres) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (!postgres.Endpoint.IsAllocated) return HealthCheckResult.Unhealthy("no port allocated yet");
        try
        {
            var cs = await postgres.ConnectionStringExpression.GetValueAsync(ct);
            await using var connection = new NpgsqlConnection(cs + ";Pooling=false;Timeout=3");
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(ct);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"postgres is not ready: {e.Message}");
        }
    }
}
