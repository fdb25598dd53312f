using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Environments;
using FlagAnalyzer.Api.Flags;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.ChangeRequests;

public sealed record RejectChangeRequest(string? Comment);

public static class ChangeRequestsApi
{
    public const int MaxCommentLength = 2000;

    public static IEndpointRouteBuilder MapChangeRequestsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/change-requests").WithTags("ChangeRequests");
        api.MapGet("/", ListChangeRequests).WithName("ListChangeRequests")
            .WithSummary("Change requests of protected environments, newest first, filtered by state, environment and flag, paged");
        api.MapGet("/{id}", GetChangeRequest).WithName("GetChangeRequest").WithSummary("One change request with its diff");
        api.MapPost("/{id}/approve", ApproveChangeRequest).WithName("ApproveChangeRequest")
            .WithSummary("Approve and apply a pending request (another key than its author's; 409 when the flag moved since)");
        api.MapPost("/{id}/reject", RejectChangeRequestById).WithName("RejectChangeRequest")
            .WithSummary("Reject a pending request, with an optional comment (another key than its author's)");
        api.MapPost("/{id}/cancel", CancelChangeRequest).WithName("CancelChangeRequest").WithSummary("Withdraw a pending request (its author only)");
        return app;
    }

    public static async Task<Results<Ok<Page<ChangeRequest>>, ValidationProblem>> ListChangeRequests(ChangeRequestService service,
        int? limit, string? cursor, string? state, string? environment, string? flagId, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (state is not null && !ChangeRequestStates.All.Contains(state))
            v.Add("state", $"must be one of {string.Join(", ", ChangeRequestStates.All)}");
        if (environment is not null && !EnvironmentRules.IsName(environment))
            v.Add("environment", $"must be an environment name: 1-{EnvironmentRules.MaxNameLength} characters a-z 0-9 - _ .");
        if (!v.IsValid) return v.ToProblem();
        var rows = await service.ListAsync(http.GetActor(), new ChangeRequestFilter(state, environment, flagId), after, take + 1, ct);
        return TypedResults.Ok(Paging.Build(rows, take, r => r.Id));
    }

    public static async Task<Results<Ok<ChangeRequest>, ProblemHttpResult>> GetChangeRequest(ChangeRequestService service, string id,
        HttpContext http, CancellationToken ct) =>
        await service.GetAsync(http.GetActor(), id, ct) is { } r ? TypedResults.Ok(r) : Problems.NotFound("Change request", id);

    public static async Task<Results<Ok<ChangeRequest>, ProblemHttpResult>> ApproveChangeRequest(ChangeRequestService service, string id,
        HttpContext http, CancellationToken ct) =>
        Answer(await service.ApproveAsync(id, http.GetActor(), ct), id);

    public static async Task<Results<Ok<ChangeRequest>, ValidationProblem, ProblemHttpResult>> RejectChangeRequestById(ChangeRequestService service,
        string id, RejectChangeRequest? body, HttpContext http, CancellationToken ct)
    {
        if (body?.Comment is { Length: > MaxCommentLength }) return Problems.Invalid("comment", $"must be at most {MaxCommentLength} characters");
        return Answer(await service.RejectAsync(id, http.GetActor(), string.IsNullOrWhiteSpace(body?.Comment) ? null : body.Comment, ct), id).Result switch
        {
            Ok<ChangeRequest> ok => ok,
            ProblemHttpResult problem => problem,
            var other => throw new InvalidOperationException($"Unexpected result {other}"),
        };
    }

    public static async Task<Results<Ok<ChangeRequest>, ProblemHttpResult>> CancelChangeRequest(ChangeRequestService service, string id,
        HttpContext http, CancellationToken ct) =>
        Answer(await service.CancelAsync(id, http.GetActor(), ct), id);

    private static Results<Ok<ChangeRequest>, ProblemHttpResult> Answer(DecisionResult result, string id) => result switch
    {
        DecisionResult.Done done => TypedResults.Ok(done.ChangeRequest),
        DecisionResult.NotFound => Problems.NotFound("Change request", id),
        DecisionResult.Forbidden no => Problems.Forbidden(no.Detail),
        DecisionResult.AlreadyDecided d => Conflict($"The change request is already {d.ChangeRequest.State}.", d.ChangeRequest),
        DecisionResult.Conflicted c => Conflict(c.Detail, c.ChangeRequest),
        _ => throw new InvalidOperationException($"Unexpected decision result {result.GetType().Name}."),
    };

    private static ProblemHttpResult Conflict(string detail, ChangeRequest request) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail,
            extensions: new Dictionary<string, object?> { ["state"] = request.State, ["changeRequestId"] = request.Id });
}
