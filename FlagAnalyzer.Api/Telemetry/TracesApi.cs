using System.Globalization;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>OTLP/HTTP intake: <c>POST /v1/traces</c>, <c>POST /v1/logs</c> and <c>POST /v1/metrics</c>, protobuf or JSON, answered in the encoding it was sent in.</summary>
public static class TracesApi
{
    public static IEndpointRouteBuilder MapTelemetryApi(this IEndpointRouteBuilder app)
    {
        // access: ingest, admin, editor
        app.MapPost("/v1/traces", ExportTraces)
            .WithTags("Telemetry")
            .WithName("ExportTraces")
            .WithSummary("OTLP/HTTP trace export: spans with feature_flag.evaluation events become per-variant impact samples");
        // access: ingest, admin, editor
        app.MapPost("/v1/logs", ExportLogs)
            .WithTags("Telemetry")
            .WithName("ExportLogs")
            .WithSummary("OTLP/HTTP logs export: feature_flag.evaluation events count as exposures and, joined to the request spans of their trace, become per-variant impact samples");
        // access: ingest, admin, editor
        app.MapPost("/v1/metrics", ExportMetrics)
            .WithTags("Telemetry")
            .WithName("ExportMetrics")
            .WithSummary("OTLP/HTTP metrics export: the OpenFeature metrics hook's feature_flag.evaluation_success_total counts become exposures per variant");
        return app;
    }

    public static async Task ExportMetrics(HttpContext http, MetricsIntake intake, CancellationToken ct)
    {
        var result = await intake.ExportAsync(http.Request, ct);
        await WriteAsync(http.Response, result, OtlpBody.EncodingOf(http.Request.ContentType), ct);
    }

    public static async Task ExportLogs(HttpContext http, LogIntake intake, CancellationToken ct)
    {
        var result = await intake.ExportAsync(http.Request, ct);
        await WriteAsync(http.Response, result, OtlpBody.EncodingOf(http.Request.ContentType), ct);
    }

    public static async Task ExportTraces(HttpContext http, TraceIntake intake, CancellationToken ct)
    {
        var result = await intake.ExportAsync(http.Request, ct);
        await WriteAsync(http.Response, result, OtlpBody.EncodingOf(http.Request.ContentType), ct);
    }

    /// <summary>
    /// 200 carries an Export…ServiceResponse; a failure carries a google.rpc.Status, in the request's encoding
    /// (problem+json when the request's type was not one of ours).
    /// </summary>
    public static async Task WriteAsync(HttpResponse response, IntakeResult result, OtlpEncoding? encoding, CancellationToken ct)
    {
        response.StatusCode = result.StatusCode;
        if (result.RetryAfter is { } wait)
            response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        if (encoding is null)
        {
            await TypedResults.Problem(statusCode: result.StatusCode, title: Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(result.StatusCode), detail: result.Message).ExecuteAsync(response.HttpContext);
            return;
        }
        IMessage message = result.Response ?? (IMessage)new RpcStatus { Code = GrpcCodeOf(result.StatusCode), Message = result.Message };
        if (encoding == OtlpEncoding.Protobuf)
        {
            response.ContentType = "application/x-protobuf";
            var bytes = message.ToByteArray();
            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, ct);
        }
        else
        {
            response.ContentType = "application/json";
            await response.WriteAsync(JsonFormatter.Default.Format(message), ct);
        }
    }

    /// <summary>The google.rpc.Code that matches an HTTP status, as the gRPC HTTP mapping pairs them.</summary>
    private static int GrpcCodeOf(int status) => status switch
    {
        400 => 3,   // INVALID_ARGUMENT
        413 => 8,   // RESOURCE_EXHAUSTED
        415 => 3,
        429 => 8,
        503 => 14,  // UNAVAILABLE
        _ => 2,     // UNKNOWN
    };
}
