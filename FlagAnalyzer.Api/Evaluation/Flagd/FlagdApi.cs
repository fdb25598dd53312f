using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Evaluation.Flagd;

public sealed record ImportSummary(string Environment, IReadOnlyList<string> Created, IReadOnlyList<string> Updated, int Unchanged);

public static class FlagdApi
{
    public sealed record FlagdServices(FlagService Service, Db Db);

    public static IEndpointRouteBuilder MapFlagdApi(this IEndpointRouteBuilder app)
    {
        // access: viewer
        app.MapGet("/api/flags/export", Export).WithTags("Flags")
            .WithName("ExportFlags").WithSummary("The flags as a flagd flag-set file (?format=flagd); ?environment= exports every flag with that environment's configuration, else each flag's home.");
        // access: editor
        app.MapPost("/api/flags/import", Import).WithTags("Flags")
            .WithName("ImportFlags").WithSummary("Creates or updates flags from a flagd flag-set file, all or nothing, each with its change-log row (into a protected environment: admin with ?bypass=true only).");
        return app;
    }

    public static async Task<Results<JsonHttpResult<JsonObject>, ValidationProblem>> Export([AsParameters] FlagdServices s, string? format,
        string? environment, HttpContext http, CancellationToken ct)
    {
        if (format is not (null or "flagd")) return Problems.Invalid("format", "only 'flagd' is supported");
        await using var conn = await s.Db.OpenAsync(ct);
        var flags = await FlagStore.ListAllAsync(conn, ct);
        var actor = http.GetActor();
        if (environment is null) return TypedResults.Json(FlagdFormat.Export(flags.Where(f => actor.Sees(f.TargetEnvironment))));
        if (!actor.Sees(environment)) return TypedResults.Json(FlagdFormat.Export([]));
        // issue 26: every flag as that environment serves it (one not configured there yet: disabled)
        var configurations = await FlagConfigurationStore.ListEnvironmentAsync(conn, null, environment, ct);
        return TypedResults.Json(FlagdFormat.Export(flags.Select(f => FlagConfigurations.View(f,
            configurations.TryGetValue(f.Id, out var c) ? c : FlagConfigurations.Disabled(f, environment, f.UpdatedAt)))));
    }

    public static async Task<Results<Ok<ImportSummary>, ValidationProblem, ProblemHttpResult>> Import([AsParameters] FlagdServices s, JsonElement body,
        string? environment, bool? bypass, HttpContext http, CancellationToken ct)
    {
        var env = environment ?? http.GetActor()?.Environment ?? FlagEnvironments.Development;
        var v = new Validator();
        FlagRules.CheckEnvironment(env, v, "environment");
        if (!v.IsValid) return v.ToProblem();
        var (flags, errors) = FlagdFormat.Parse(body);
        if (!errors.IsValid) return errors.ToProblem();
        var changedBy = http.Request.Headers["X-Changed-By"].FirstOrDefault() is { Length: > 0 and <= FlagRules.MaxOwnerLength } h ? h : "import";
        var r = await s.Service.ImportAsync(new ImportFlagsCommand(flags, env, changedBy, http.GetActor()) { Bypass = bypass == true }, ct);
        if (r.Errors is { } invalid) return invalid.ToProblem();
        if (r.Forbidden is { } refused) return Problems.Forbidden(refused);
        return TypedResults.Ok(new ImportSummary(env, r.Created.Select(f => f.Key).ToList(), r.Updated.Select(f => f.Key).ToList(), r.Unchanged));
    }
}
