using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Rollouts;

public static class RolloutsExtensions
{
    /// <summary>Plans, schedules and the guardian that moves them (a hosted service; it also listens for new metrics).</summary>
    public static IHostApplicationBuilder AddRollouts(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<RolloutOptions>(builder.Configuration.GetSection("Rollouts"));
        builder.Services.AddSingleton<RolloutService>();
        builder.Services.AddSingleton<RolloutEvidenceCache>();
        builder.Services.AddSingleton<Flags.IRegressionGuard, RegressionGuard>();
        builder.Services.AddSingleton<ScheduleService>();
        // approvals of held plans, actions, rollbacks and schedules apply through Rollouts (issue 27)
        builder.Services.AddSingleton<ChangeRequests.IChangeRequestApplier, RolloutChangeRequests>();
        builder.Services.AddSingleton<RolloutGuardian>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RolloutGuardian>());
        builder.Services.AddSingleton<RolloutNudges>();
        builder.Services.AddSingleton<ILiveEventSink>(sp => sp.GetRequiredService<RolloutNudges>());
        builder.Services.AddSingleton<IChangeFeedSubscriber>(sp => sp.GetRequiredService<RolloutNudges>());
        return builder;
    }
}
