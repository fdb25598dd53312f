using FlagAnalyzer.Api.Assistant;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Live.Ws;

/// <summary><c>/ws</c>: the seed's raw WebSocket, so <c>new WebSocket('ws://host/ws')</c> keeps working.</summary>
public static class WsEndpoint
{
    public const string Path = "/ws";

    public static IEndpointConventionBuilder MapSeedWebSocket(this IEndpointRouteBuilder app)
    {
        // the WebSocket middleware runs only for this endpoint, as SignalR does for its hubs; a client that
        // answers no ping for 30 s (gone, or stalled and not reading) is disconnected
        var pipeline = app.CreateApplicationBuilder()
            .UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15), KeepAliveTimeout = TimeSpan.FromSeconds(30) })
            .Use(next => HandleAsync)
            .Build();
        return app.Map(Path, pipeline).WithName("SeedWebSocket").WithSummary("Raw WebSocket: live events and chat (Live/CONTRACT.md)");
    }

    private static async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("/ws expects a WebSocket upgrade request.");
            return;
        }
        var services = context.RequestServices;
        var bridge = services.GetRequiredService<WsBridge>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WsEndpoint).FullName!);
        var options = services.GetRequiredService<IOptions<WsOptions>>().Value;
        // registered before the handshake completes, so a client receives every event published after its connect returns
        var connection = new WsConnection(services.GetRequiredService<IAssistant>(), logger, options,
            context.Connection.RemoteIpAddress?.ToString());
        switch (bridge.TryAdd(connection))
        {
            case WsBridge.Admission.TooManyFromAddress:
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                await context.Response.WriteAsync($"At most {options.MaxConnectionsPerAddress} /ws connections per client address.");
                return;
            case WsBridge.Admission.TooMany:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync($"This server holds its maximum of {options.MaxConnections} /ws connections; try again later.");
                return;
        }
        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await connection.RunAsync(socket, context.RequestAborted);
        }
        finally
        {
            bridge.Remove(connection);
            if (connection.WasSlow) WsMemory.Release(logger);
        }
    }
}
