using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.ChangeRequests;

public static class ChangeRequestsExtensions
{
    /// <summary>The gate of protected environments (asked by Flags' write paths) and the change requests it holds.</summary>
    public static IHostApplicationBuilder AddChangeRequests(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IChangeGate, ChangeGate>();
        builder.Services.AddSingleton<ChangeRequestService>();
        return builder;
    }
}
