using System.Text.Json;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>Why a value was served; OpenFeature's reasons, serialised in upper snake case at the edge.</summary>
public enum EvaluationReason { Static, TargetingMatch, Split, Disabled, Default, Error }

/// <summary>OpenFeature's error codes that evaluation can produce.</summary>
public enum EvaluationErrorCode { FlagNotFound, ParseError, TargetingKeyMissing, InvalidContext, TypeMismatch, General }

/// <summary>
/// One evaluation's outcome. A struct, and pre-built per flag for every non-error outcome, so evaluating a flag
/// without targeting allocates nothing. On error <see cref="Value"/> is undefined and <see cref="Variant"/> null.
/// </summary>
public readonly record struct EvaluationResult(
    JsonElement Value, string? Variant, EvaluationReason Reason, EvaluationErrorCode? ErrorCode = null, string? ErrorDetails = null)
{
    public bool IsError => ErrorCode is not null;

    public static EvaluationResult Failure(EvaluationErrorCode code, string details) =>
        new(default, null, EvaluationReason.Error, code, details);
}

public static class EvaluationNames
{
    public static string Of(EvaluationReason r) => r switch
    {
        EvaluationReason.Static => "STATIC",
        EvaluationReason.TargetingMatch => "TARGETING_MATCH",
        EvaluationReason.Split => "SPLIT",
        EvaluationReason.Disabled => "DISABLED",
        EvaluationReason.Default => "DEFAULT",
        _ => "ERROR",
    };

    public static string Of(EvaluationErrorCode c) => c switch
    {
        EvaluationErrorCode.FlagNotFound => "FLAG_NOT_FOUND",
        EvaluationErrorCode.ParseError => "PARSE_ERROR",
        EvaluationErrorCode.TargetingKeyMissing => "TARGETING_KEY_MISSING",
        EvaluationErrorCode.InvalidContext => "INVALID_CONTEXT",
        EvaluationErrorCode.TypeMismatch => "TYPE_MISMATCH",
        _ => "GENERAL",
    };
}
