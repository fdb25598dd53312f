using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Common;

/// <summary>Problem+json results with the status code of each failure (README, "API": 400, 404, 409, 412).</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string what, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{what} not found",
            detail: $"No {what.ToLowerInvariant()} has the id or name '{id}'.");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);

    public static ProblemHttpResult PreconditionFailed(long currentVersion) =>
        TypedResults.Problem(statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition failed",
            detail: $"If-Match does not match the current version {currentVersion}; read the flag again and retry.",
            extensions: new Dictionary<string, object?> { ["currentVersion"] = currentVersion });

    /// <summary>403: the caller's key may not do this (e.g. put a flag outside its environment, <see cref="FlagScope"/>).</summary>
    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: detail);

    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
