using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlagAnalyzer.AppHost;

/// <summary>
/// <c>redis-server</c> from PATH as a plain process, for machines without a container engine. It hands
/// its references the same <c>ConnectionStrings:NAME</c> a Redis container would (<c>host:port</c>).
/// </summary>
public sealed class RedisServerResource(string name, string workingDirectory)
    : ExecutableResource(name, "redis-server", workingDirectory), IResourceWithConnectionString
{
    internal const string EndpointName = "tcp";

    public EndpointReference Endpoint => field ??= new EndpointReference(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Endpoint.Property(EndpointProperty.HostAndPort)}");
}

public static class RedisServerResourceExtensions
{
    public static IResourceBuilder<RedisServerResource> AddRedisServer(this IDistributedApplicationBuilder builder, string name)
    {
        var resource = new RedisServerResource(name, builder.AppHostDirectory);
        var healthKey = $"{name}-ping";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthKey, _ => new RedisPingCheck(resource), null, null));

        return builder.AddResource(resource)
            // not proxied: the API talks to redis-server itself, so stopping the process is seen as Redis going away
            .WithEndpoint(name: RedisServerResource.EndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(ctx =>
            {
                ctx.Args.Add("--port");
                ctx.Args.Add(resource.Endpoint.Property(EndpointProperty.TargetPort));
                // loopback only, and a cache: nothing written to disk
                foreach (var a in new[] { "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) ctx.Args.Add(a);
            })
            .WithHealthCheck(healthKey);
    }
}

/// <summary>Healthy once redis-server answers PING on its allocated port.</summary>
internal sealed class RedisPingCheck(RedisServerResource redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (!redis.Endpoint.IsAllocated) return HealthCheckResult.Unhealthy("no port allocated yet");
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(redis.Endpoint.Host, redis.Endpoint.Port, ct);
            var stream = tcp.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), ct);
            var buffer = new byte[16];
            var n = await stream.ReadAsync(buffer, ct);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("redis-server did not answer PING");
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return HealthCheckResult.Unhealthy($"redis-server is not reachable: {e.Message}");
        }
    }
}
