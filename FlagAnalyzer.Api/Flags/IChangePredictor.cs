using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// Predicts a flag change's impact inside the change's write transaction. Declared here and implemented by
/// Predictions (a higher folder), so Flags never references Predictions; registered in DI.
/// </summary>
public interface IChangePredictor
{
    /// <summary>Writes the prediction for <paramref name="change"/> (whose <c>PredictionId</c> is set) in the caller's transaction.</summary>
    Task<PredictedChange> PredictAsync(WriteScope scope, Flag? before, Flag after, FlagChange change, CancellationToken ct);

    /// <summary>After commit: announces the prediction and hands it on (for instance to the LLM refiner).</summary>
    ValueTask AfterCommitAsync(PredictedChange prediction, CancellationToken ct);
}

/// <summary>
/// A prediction as Flags sees it: the resource to return with the change. The predictor derives from it to carry what it
/// needs back after commit (its inputs), so nothing crosses the folder line untyped.
/// </summary>
public abstract record PredictedChange(Prediction Prediction);
