using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Webhooks;

public static class WebhooksExtensions
{
    public static IHostApplicationBuilder AddWebhooks(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<WebhookOptions>(builder.Configuration.GetSection("Webhooks"));
        builder.Services.AddSingleton<WebhookSignal>();
        builder.Services.AddSingleton<WebhookSecrets>();
        builder.Services.AddHostedService<WebhookSecretSealer>();
        builder.Services.AddHealthChecks().AddCheck<WebhookSecretsHealthCheck>("webhooks");
        builder.Services.AddSingleton<WebhookPayloads>();
        builder.Services.AddSingleton<WebhookPump>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookPump>());
        builder.Services.AddSingleton<IEventOutbox, WebhookOutbox>();
        builder.Services.AddSingleton<IChangeFeedSubscriber, WebhookFeedSubscriber>();
        var allowPrivate = builder.Configuration.GetValue<bool>("Webhooks:AllowPrivateTargets");
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers: the documented way to opt one client out of ConfigureHttpClientDefaults
        builder.Services.AddHttpClient(WebhookWorker.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                ConnectCallback = (context, ct) => WebhookTargets.ConnectAsync(context, allowPrivate, ct),
            })
            // ServiceDefaults' resilience handler would retry a 500 out of sight of the delivery log and add its own
            // timeouts: the worker owns both. No HttpClient logging: a chat tool's webhook URL carries its token.
            .RemoveAllResilienceHandlers()
            .RemoveAllLoggers();
#pragma warning restore EXTEXP0001
        builder.Services.AddHostedService<WebhookWorker>();
        return builder;
    }
}
