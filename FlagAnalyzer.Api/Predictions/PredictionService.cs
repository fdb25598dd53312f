using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>Makes the statistical prediction for a change inside the change's transaction, then hands it to refiners.</summary>
public sealed class PredictionService(IImpactPredictor predictor, IEnumerable<IPredictionRefiner> refiners, IOpenAnomalies openAnomalies,
    ILiveEventPublisher live, TimeProvider clock) : IChangePredictor
{
    /// <summary>How much history a prediction reads: the newest samples of the flag, and a week of changes.</summary>
    public const int HistorySamples = MetricHistory.MaxSamples;
    public static readonly TimeSpan ChangeWindow = TimeSpan.FromDays(7);

    private readonly IPredictionRefiner[] _refiners = refiners.ToArray();

    public async Task<(Prediction Prediction, PredictionInput Input)> PredictAsync(
        WriteScope s, Flag? before, Flag after, FlagChange change, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // the change's environment's samples: a staging change is predicted from staging's history (issue 26)
        var environment = string.IsNullOrEmpty(change.Environment) ? after.TargetEnvironment : change.Environment;
        var history = await MetricStore.RecentAsync(s.Connection, s.Transaction, after.Id, environment, HistorySamples, ct);
        var changes = await FlagStore.ListChangesAsync(s.Connection, s.Transaction,
            new FlagStore.ChangeFilter(after.Id, null, null, now - ChangeWindow), null, 500, ct);
        var anomalies = await openAnomalies.ListAsync(s, after.Id, ct);
        var input = new PredictionInput(before, after, change, history, changes, anomalies, now);

        var a = predictor.Predict(input);
        var prediction = new Prediction
        {
            Id = change.PredictionId ?? Ids.New("prd", clock),
            FlagId = after.Id,
            Environment = environment,
            ChangeId = change.Id,
            RiskLevel = a.RiskLevel,
            RiskScore = Math.Round(Math.Clamp(a.RiskScore, 0, 100), 1),
            PredictedImpact = a.PredictedImpact,
            Recommendations = a.Recommendations,
            Confidence = Math.Round(Math.Clamp(a.Confidence, 0, 1), 3),
            Reasoning = a.Reasoning,
            Evidence = a.Evidence,
            Source = PredictionSources.Statistical,
            CreatedAt = now,
            UpdatedAt = now,
        };
        await PredictionStore.InsertAsync(s.Connection, s.Transaction, prediction, ct);
        return (prediction, input);
    }

    async Task<PredictedChange> IChangePredictor.PredictAsync(WriteScope scope, Flag? before, Flag after, FlagChange change, CancellationToken ct)
    {
        var (prediction, input) = await PredictAsync(scope, before, after, change, ct);
        return new PredictedWithInput(prediction, input);
    }

    /// <summary>After commit: <c>prediction.created</c>, then the hand-off to the refiners.</summary>
    async ValueTask IChangePredictor.AfterCommitAsync(PredictedChange p, CancellationToken ct)
    {
        if (p is not PredictedWithInput { Input: var input }) return;
        var prediction = p.Prediction;
        await live.PublishAsync(new LiveEvent(LiveEventTypes.PredictionCreated, prediction, prediction.FlagId) { Environment = prediction.Environment }, ct);
        HandOff(prediction, input);
    }

    /// <summary>After commit: give the prediction to each refiner (they work off the request path).</summary>
    public void HandOff(Prediction prediction, PredictionInput input)
    {
        foreach (var r in _refiners) r.Enqueue(prediction, input);
    }
}

/// <summary>The statistical prediction with the inputs it was made from, which the refiners get after commit.</summary>
internal sealed record PredictedWithInput(Prediction Prediction, PredictionInput Input) : PredictedChange(Prediction);
