using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Evaluation.Exposures;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// OpenFeature Remote Evaluation Protocol (open-feature/protocol <c>service/openapi.yaml</c>): single and bulk
/// evaluation over the replica's snapshot, never SQLite. Failures carry <c>key</c> and <c>errorCode</c>, which
/// the JS providers require before they read an error; 401/403 carry no body. The bulk answer lists the caller's event
/// stream (<c>eventStreams</c>, OFREP 0.3; <see cref="StreamsApi"/>) and honours <c>flagConfigEtag</c> from it.
/// </summary>
public static class OfrepApi
{
    public const string CorsPolicy = "ofrep";
    public const string RateLimitPolicy = "ofrep";

    public sealed record OfrepServices(IFlagSnapshot Snapshots, IOfrepAccess Access, FlagEvaluator Evaluator, ExposureCounter Exposures,
        StreamsApi.StreamServices Streams);

    public static IEndpointRouteBuilder MapOfrepApi(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<EvaluationOptions>>().Value;
        var ofrep = app.MapGroup("/ofrep/v1").WithTags("OFREP");
        if (options.CorsOrigins.Length > 0) ofrep.RequireCors(CorsPolicy);
        if (options.RequestsPerSecond > 0) ofrep.RequireRateLimiting(RateLimitPolicy);

        // access: sdk (env-scoped), admin, editor
        ofrep.MapPost("/evaluate/flags/{key}", EvaluateFlag)
            .WithMetadata(new LeanBranch(static (http, s) => EvaluateFlag(http, (string)http.Request.RouteValues[KeyRouteValue]!, s)))
            .WithName("OfrepEvaluateFlag").WithSummary("Evaluates one flag for the posted context (OFREP).");
        // access: sdk (env-scoped), admin, editor
        ofrep.MapPost("/evaluate/flags", EvaluateFlags)
            .WithMetadata(new LeanBranch(EvaluateFlags))
            .WithName("OfrepEvaluateFlags").WithSummary("Evaluates every flag visible to the caller for the posted context (OFREP bulk, ETag/304).");
        return app;
    }

    private const string KeyRouteValue = "key";

    /// <summary>Marks an evaluation endpoint for <see cref="UseOfrepEvaluation"/>, with the handler the branch calls.</summary>
    private sealed record LeanBranch(Func<HttpContext, OfrepServices, Task> Handler);

    /// <summary>
    /// Serves the evaluation endpoints on a branch of their own, right after routing (and after the event streams' branch),
    /// with the middlewares that act on them and none that only pass them on: every SDK evaluation is a request, and each
    /// pass-through costs time and allocations on every one (issue 26: OFREP ≥ 0.6 × a bare Kestrel endpoint).
    /// <list type="bullet">
    /// <item>kept, in the main pipeline's order: the edge (Host check, forwarded headers, security headers, CORS:
    /// <see cref="AccessExtensions.UseEdge"/>), the exception handler, status-code pages, the body-size limit, the access
    /// rules (<see cref="AccessMiddleware"/>: the key, its role and scope, JSON bodies), the OFREP rate limit when one is
    /// configured, and the <c>changedBy</c> check;</item>
    /// <item>left out, because they do nothing for these endpoints: <c>UseAuthentication</c> (the access middleware
    /// authenticates the key itself; authenticating twice was the default), <c>UseAuthorization</c> (no endpoint here has
    /// an authorization policy: <see cref="EndpointRules"/> is the policy), the per-key write limiter (it never counts
    /// evaluations: they are reads, issue 23), the flag-scope check (these routes name no <c>{idOrName}</c>), and endpoint
    /// dispatch with its parameter binding: the handler is called with the services resolved once, so a request that
    /// passes creates no DI scope.</item>
    /// </list>
    /// The endpoints stay mapped, so routing, CORS, the OpenAPI document and the access rules see them as before. Call it
    /// right after <c>UseEventStreams</c>, before <c>UseAuthentication</c>.
    /// </summary>
    public static IApplicationBuilder UseOfrepEvaluation(this IApplicationBuilder app)
    {
        var sp = app.ApplicationServices;
        var options = sp.GetRequiredService<IOptions<EvaluationOptions>>().Value;
        var services = new OfrepServices(sp.GetRequiredService<IFlagSnapshot>(), sp.GetRequiredService<IOfrepAccess>(),
            sp.GetRequiredService<FlagEvaluator>(), sp.GetRequiredService<ExposureCounter>(), sp.GetRequiredService<StreamsApi.StreamServices>());
        return app.MapWhen(
            static http => http.GetEndpoint()?.Metadata.GetMetadata<LeanBranch>() is not null,
            branch =>
            {
                AccessExtensions.UseEdge(branch);
                branch.UseExceptionHandler();
                branch.UseStatusCodePages();
                branch.UseBodySizeLimit();
                branch.UseMiddleware<AccessMiddleware>();
                if (options.RequestsPerSecond > 0) branch.UseRateLimiter();
                branch.UseChangedByCheck();
                branch.Run(http => http.GetEndpoint()!.Metadata.GetMetadata<LeanBranch>()!.Handler(http, services));
            });
    }

    public static async Task EvaluateFlag(HttpContext http, string key, [AsParameters] OfrepServices s)
    {
        var scope = s.Access.ScopeOf(http);
        if (scope.DeniedStatus is { } denied) { Deny(http, denied); return; }

        var (context, _, error) = await ReadContextAsync(http, keepRaw: false);
        if (error is { } e) { await WriteAsync(http, 400, w => WriteFailure(w, key, e.Code, e.Details)); return; }

        // a scoped caller evaluates its environment's configuration of the flag, never another's (issue 26)
        if (!s.Snapshots.Current.TryGet(key, scope.Environment, out var flag) || !scope.Sees(flag))
        {
            await WriteAsync(http, 404, w => WriteFailure(w, key, EvaluationErrorCode.FlagNotFound, $"Flag '{key}' was not found"));
            return;
        }
        var result = s.Evaluator.Evaluate(flag, context!);
        Utf8JsonWriter w;
        if (result.IsError)
        {
            w = Begin(http, 400);
            WriteFailure(w, key, result.ErrorCode!.Value, result.ErrorDetails);
        }
        else
        {
            s.Exposures.Record(flag, result.Variant!);
            w = Begin(http, 200);
            WriteSuccess(w, flag, result);
        }
        await EndAsync(http, w);
    }

    public static async Task EvaluateFlags(HttpContext http, [AsParameters] OfrepServices s)
    {
        var scope = s.Access.ScopeOf(http);
        if (scope.DeniedStatus is { } denied) { Deny(http, denied); return; }

        var (context, rawContext, error) = await ReadContextAsync(http, keepRaw: true);
        if (error is { } e)
        {
            await WriteAsync(http, 400, w => { w.WriteStartObject(); WriteError(w, e.Code, e.Details); w.WriteEndObject(); });
            return;
        }

        // flagConfigEtag (ADR-0008): the stream announced a configuration; answer once this replica's snapshot reflects it
        // (another replica may have announced it a moment before this one swapped), or after a bounded wait with what it has
        var snapshot = s.Snapshots.Current;
        if (http.Request.Query["flagConfigEtag"].ToString() is { Length: > 0 } announced)
            snapshot = await AwaitConfigurationAsync(snapshot, scope.Environment, announced, s, http.RequestAborted);
        var version = ConfigVersion(snapshot, scope.Environment);
        var stream = await StreamsApi.UrlForAsync(http, scope.Environment, snapshot, s.Streams);
        // the stream URL's issue period is part of the answer: a provider holding an expired URL gets a 200 with a new one, not a 304
        var etag = BulkETag(version, scope, rawContext, stream?.Period);
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
            foreach (var flag in snapshot.ForEnvironment(scope.Environment).Values)
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
            if (stream is { } sse)
            {
                w.WriteStartArray("eventStreams");
                w.WriteStartObject();
                w.WriteString("type", "sse");
                w.WriteString("url", sse.Url);
                w.WriteNumber("inactivityDelaySec", Math.Max(1, s.Streams.Options.Value.InactivityDelaySec));
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteStartObject("metadata");
            w.WriteString("version", version);
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

    /// <summary>
    /// What the bulk answer depends on: the snapshot's version for an unscoped caller; for a key scoped to an environment,
    /// the keys and versions of the flags it sees only, so another environment's changes neither invalidate its ETag nor
    /// tell it that they happened (FlagScope).
    /// </summary>
    /// <remarks>The event streams compare it per environment before and after a swap: what an unrelated change leaves alone.</remarks>
    internal static string ConfigVersion(FlagSnapshot snapshot, string? environment) => snapshot.VersionOf(environment);

    /// <summary>The version, qualified by what else changes the answer: the caller's scope, the context and the stream URL's period.</summary>
    private static string BulkETag(string version, OfrepScope scope, byte[] rawContext, long? streamPeriod)
    {
        var digest = SHA256.HashData([.. Encoding.UTF8.GetBytes($"{scope.Environment}\n"), .. rawContext]);
        var period = streamPeriod is { } p ? $"-s{p.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "";
        return $"\"{version}-{Convert.ToHexStringLower(digest.AsSpan(0, 6))}{period}\"";
    }

    /// <summary>The current snapshot once it reflects <paramref name="announced"/>, or when the wait runs out.</summary>
    private static async Task<FlagSnapshot> AwaitConfigurationAsync(FlagSnapshot snapshot, string? environment, string announced, OfrepServices s,
        CancellationToken ct)
    {
        if (StreamHub.Reflects(snapshot, environment, announced)) return snapshot;
        // behind the replica whose stream announced it: read the database now rather than wait for the feed or the safety net
        s.Streams.Hub.RequestReload();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(Math.Max(0, s.Streams.Options.Value.FreshnessWaitMs));
        try
        {
            while (true)
            {
                // the pass is taken before the snapshot is read, so a swap between the two is not waited for twice
                var next = s.Streams.Hub.NextPassAsync();
                if (StreamHub.Reflects(snapshot = s.Snapshots.Current, environment, announced)) break;
                await next.WaitAsync(wait.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { } // stale 200, as ADR-0008 allows
        return snapshot;
    }

    private readonly record struct ContextError(EvaluationErrorCode Code, string Details);

    /// <summary>
    /// Reads <c>{"context": {...}}</c> straight from the request's pipe (bodies are small; Kestrel caps them), without
    /// building a document first. <paramref name="keepRaw"/> keeps the context's bytes for the bulk ETag.
    /// </summary>
    private static async ValueTask<(EvaluationContext? Context, byte[] Raw, ContextError? Error)> ReadContextAsync(HttpContext http, bool keepRaw)
    {
        var pipe = http.Request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await pipe.ReadAsync(http.RequestAborted);
            if (read.IsCompleted || read.IsCanceled) break;
            pipe.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
        try
        {
            return ParseContext(read.Buffer, keepRaw);
        }
        finally
        {
            pipe.AdvanceTo(read.Buffer.End);
        }
    }

    private static (EvaluationContext? Context, byte[] Raw, ContextError? Error) ParseContext(ReadOnlySequence<byte> body, bool keepRaw)
    {
        static (EvaluationContext?, byte[], ContextError?) Fail(EvaluationErrorCode code, string details) => (null, [], new ContextError(code, details));
        try
        {
            var r = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!r.Read()) return Fail(EvaluationErrorCode.ParseError, "The request body is empty; send {\"context\": {...}}");
            if (r.TokenType != JsonTokenType.StartObject)
                return Fail(EvaluationErrorCode.ParseError, "The request body must be a JSON object {\"context\": {...}}");
            var context = EvaluationContext.Empty;
            byte[] raw = "{}"u8.ToArray();
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var isContext = r.ValueTextEquals("context"u8);
                r.Read();
                if (!isContext) { r.Skip(); continue; }
                if (r.TokenType == JsonTokenType.Null) continue;
                if (r.TokenType != JsonTokenType.StartObject) { r.Skip(); return Fail(EvaluationErrorCode.InvalidContext, "context must be a JSON object"); }
                var from = r.TokenStartIndex;
                var attributes = ReadObject(ref r);
                if (keepRaw) raw = body.Slice(from, r.BytesConsumed - from).ToArray();
                if (attributes.TryGetValue(EvaluationContext.TargetingKeyName, out var key) && key is not (string or null))
                    return Fail(EvaluationErrorCode.InvalidContext, "context.targetingKey must be a string");
                context = new EvaluationContext(attributes);
            }
            if (r.Read()) return Fail(EvaluationErrorCode.ParseError, "The request body has data after its JSON object");
            return (context, raw, null);
        }
        catch (JsonException ex)
        {
            return Fail(EvaluationErrorCode.ParseError, $"The request body is not valid JSON: {ex.Message}");
        }
        catch (InvalidOperationException ex) when (Common.Json.IsInvalidText(ex))
        {
            // well-formed JSON, but a string of the context is not text any attribute could hold
            return Fail(EvaluationErrorCode.InvalidContext, "A string in the context is not Unicode text (a lone surrogate such as \\ud800).");
        }
    }

    private static Dictionary<string, object?> ReadObject(ref Utf8JsonReader r)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = r.GetString()!;
            r.Read();
            d[name] = ReadValue(ref r);
        }
        return d;
    }

    private static object? ReadValue(ref Utf8JsonReader r)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject: return ReadObject(ref r);
            case JsonTokenType.StartArray:
                var items = new List<object?>();
                while (r.Read() && r.TokenType != JsonTokenType.EndArray) items.Add(ReadValue(ref r));
                return items.ToArray();
            case JsonTokenType.String: return r.GetString();
            case JsonTokenType.Number: return r.GetDouble();
            case JsonTokenType.True: return JsonLogic.Values.True;
            case JsonTokenType.False: return JsonLogic.Values.False;
            default: return null;
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

    private static Task WriteAsync(HttpContext http, int status, Action<Utf8JsonWriter> write)
    {
        var w = Begin(http, status);
        write(w);
        return EndAsync(http, w);
    }

    // one writer per thread, pointed at each response in turn: a response is written without an await between Begin and
    // EndAsync, so no other request on this thread can reach it meanwhile
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    private static readonly ArrayBufferWriter<byte> Detached = new(1);

    private static Utf8JsonWriter Begin(HttpContext http, int status)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var w = t_writer ??= new Utf8JsonWriter(Detached);
        w.Reset(http.Response.BodyWriter);
        return w;
    }

    private static Task EndAsync(HttpContext http, Utf8JsonWriter w)
    {
        w.Flush();
        w.Reset(Detached); // holds no response between requests
        var flush = http.Response.BodyWriter.FlushAsync(http.RequestAborted);
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }
}
