using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Predictions;

public static class PredictionsExtensions
{
    /// <summary>The statistical predictor behind every change (the LLM refiner, when configured, is added by the assistant).</summary>
    public static IHostApplicationBuilder AddPredictions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IImpactPredictor, StatisticalPredictor>();
        builder.Services.AddSingleton<PredictionService>();
        builder.Services.AddSingleton<IChangePredictor>(sp => sp.GetRequiredService<PredictionService>());
        return builder;
    }
}
