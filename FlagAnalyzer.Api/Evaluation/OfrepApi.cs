using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using FlagAnalyzer.Api.Evaluation.Exposures;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// OpenFeature Remote Evaluation Protocol (open-feature/protocol <c>service/openapi.yaml</c>): single and bulk
/// evaluation over the replica's snapshot, never SQLite. Failures carry <c>key</c> and <c>errorCode</c>, which
/// the JS providers require before they read an error; 401/403 carry no body.
/// </summary>
public static class OfrepApi
{
    public const string CorsPolicy = "ofrep";
    public const string RateLimitPolicy = "ofrep";

    public sealed record OfrepServices(IFlagSnapshot Snapshots, IOfrepAccess Access, FlagEvaluator Evaluator, ExposureCounter Exposures);

    public static IEndpointRouteBuilder MapOfrepApi(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<EvaluationOptions>>().Value;
        var ofrep = app.MapGroup("/ofrep/v1").WithTags("OFREP");
        if (options.CorsOrigins.Length > 0) ofrep.RequireCors(CorsPolicy);
        if (options.RequestsPerSecond > 0) ofrep.RequireRateLimiting(RateLimitPolicy);

        // access: sdk (env-scoped), admin, editor
        ofrep.MapPost("/evaluate/flags/{key}", EvaluateFlag)
            .WithName("OfrepEvaluateFlag").WithSummary("Evaluates one flag for the posted context (OFREP).");
        // access: sdk (env-scoped), admin, editor
        ofrep.MapPost("/evaluate/flags", EvaluateFlags)
            .WithName("OfrepEvaluateFlags").WithSummary("Evaluates every flag visible to the caller for the posted context (OFREP bulk, ETag/304).");
        return app;
    }

    public static async Task EvaluateFlag(HttpContext http, string key, [AsParameters] OfrepServices s)
    {
        var scope = s.Access.ScopeOf(http);
        if (scope.DeniedStatus is { } denied) { Deny(http, denied); return; }

        var (context, _, error) = await ReadContextAsync(http);
        if (error is { } e) { await WriteAsync(http, 400, w => WriteFailure(w, key, e.Code, e.Details)); return; }

        if (!s.Snapshots.Current.TryGet(key, out var flag) || !scope.Sees(flag))
        {
            await WriteAsync(http, 404, w => WriteFailure(w, key, EvaluationErrorCode.FlagNotFound, $"Flag '{key}' was not found"));
            return;
        }
        var result = s.Evaluator.Evaluate(flag, context!);
        if (result.IsError)
        {
            await WriteAsync(http, 400, w => WriteFailure(w, key, result.ErrorCode!.Value, result.ErrorDetails));
            return;
        }
        s.Exposures.Record(flag, result.Variant!);
        await WriteAsync(http, 200, w => WriteSuccess(w, flag, result));
    }

    public static async Task EvaluateFlags(HttpContext http, [AsParameters] OfrepServices s)
    {
        var scope = s.Access.ScopeOf(http);
        if (scope.DeniedStatus is { } denied) { Deny(http, denied); return; }

        var (context, rawContext, error) = await ReadContextAsync(http);
        if (error is { } e)
        {
            await WriteAsync(http, 400, w => { w.WriteStartObject(); WriteError(w, e.Code, e.Details); w.WriteEndObject(); });
            return;
        }

        var snapshot = s.Snapshots.Current;
        var etag = BulkETag(snapshot, scope, rawContext);
        if (http.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim().TrimStart('W', '/') == etag)))
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            http.Response.Headers.ETag = etag;
            return;
        }

        http.Response.Headers.ETag = etag;
        await WriteAsync(http, 200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("flags");
            foreach (var flag in snapshot.ByKey.Values)
            {
                if (!scope.Sees(flag)) continue;
                var result = s.Evaluator.Evaluate(flag, context!);
                if (result.IsError) WriteFailure(w, flag.Key, result.ErrorCode!.Value, result.ErrorDetails);
                else
                {
                    s.Exposures.Record(flag, result.Variant!);
                    WriteSuccess(w, flag, result);
                }
            }
            w.WriteEndArray();
            w.WriteStartObject("metadata");
            w.WriteString("version", snapshot.Version);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    /// <summary>401/403 without a body, as OFREP defines them (the status-code page would add a problem document).</summary>
    private static void Deny(HttpContext http, int status)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } pages) pages.Enabled = false;
        http.Response.StatusCode = status;
    }

    /// <summary>The snapshot version, qualified by what else changes the answer: the caller's scope and the context.</summary>
    private static string BulkETag(FlagSnapshot snapshot, OfrepScope scope, string rawContext)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{scope.Environment}\n{rawContext}"));
        return $"\"{snapshot.Version}-{Convert.ToHexStringLower(digest.AsSpan(0, 6))}\"";
    }

    private readonly record struct ContextError(EvaluationErrorCode Code, string Details);

    private static async Task<(EvaluationContext? Context, string Raw, ContextError? Error)> ReadContextAsync(HttpContext http)
    {
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
        }
        catch (JsonException ex)
        {
            return (null, "", new ContextError(EvaluationErrorCode.ParseError, $"The request body is not valid JSON: {ex.Message}"));
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return (null, "", new ContextError(EvaluationErrorCode.ParseError, "The request body must be a JSON object {\"context\": {...}}"));
            if (!doc.RootElement.TryGetProperty("context", out var ctx) || ctx.ValueKind == JsonValueKind.Null)
                return (EvaluationContext.Empty, "{}", null);
            if (ctx.ValueKind != JsonValueKind.Object)
                return (null, "", new ContextError(EvaluationErrorCode.InvalidContext, "context must be a JSON object"));
            if (ctx.TryGetProperty(EvaluationContext.TargetingKeyName, out var tk) && tk.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                return (null, "", new ContextError(EvaluationErrorCode.InvalidContext, "context.targetingKey must be a string"));
            return (EvaluationContext.FromJson(ctx), ctx.GetRawText(), null);
        }
    }

    private static void WriteSuccess(Utf8JsonWriter w, CompiledFlag flag, EvaluationResult r)
    {
        w.WriteStartObject();
        w.WriteString("key", flag.Key);
        w.WritePropertyName("value");
        r.Value.WriteTo(w);
        w.WriteString("variant", r.Variant);
        w.WriteString("reason", EvaluationNames.Of(r.Reason));
        w.WriteStartObject("metadata");
        w.WriteNumber("flagVersion", flag.Version);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteFailure(Utf8JsonWriter w, string key, EvaluationErrorCode code, string? details)
    {
        w.WriteStartObject();
        w.WriteString("key", key);
        WriteError(w, code, details);
        w.WriteEndObject();
    }

    private static void WriteError(Utf8JsonWriter w, EvaluationErrorCode code, string? details)
    {
        w.WriteString("errorCode", EvaluationNames.Of(code));
        if (details is not null) w.WriteString("errorDetails", details);
    }

    private static async Task WriteAsync(HttpContext http, int status, Action<Utf8JsonWriter> write)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await using (var w = new Utf8JsonWriter(http.Response.BodyWriter)) write(w);
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }
}
