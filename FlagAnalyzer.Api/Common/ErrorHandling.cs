using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Turns request-reading failures into problem+json: malformed JSON or a wrong type names the field
/// (from the JSON path), a query or route value that does not parse names its parameter, an oversized body
/// is 413. Other exceptions get a 500 problem without details.
/// </summary>
public sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    // ASP.NET Core's wording for a value that does not convert to the handler's parameter type
    [GeneratedRegex("""^Failed to bind parameter "(?<type>[^"]+) (?<name>[A-Za-z_][A-Za-z0-9_]*)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (Json.IsInvalidText(exception))
        {
            // every JSON body read through a JsonElement ends here when one of its strings is not Unicode text
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]>
                {
                    ["$"] = ["holds a string that is not Unicode text (a lone surrogate such as \\ud800)"],
                })
                {
                    Status = 400,
                    Title = "The request is invalid",
                },
            });
        }
        if (exception is not BadHttpRequestException bad) return false;
        ProblemDetails details;
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            details = new ProblemDetails { Status = 413, Title = "Payload too large", Detail = RequestLimits.TooLarge(RequestLimits.For(http)) };
        }
        else if (exception.InnerException is not JsonException && BindFailure().Match(bad.Message) is { Success: true } m)
        {
            var name = m.Groups["name"].Value;
            var repeated = http.Request.Query.TryGetValue(name, out var values) && values.Count > 1;
            details = new HttpValidationProblemDetails(new Dictionary<string, string[]>
            {
                [name] = [repeated ? "must be given once" : $"'{m.Groups["value"].Value}' {Expected(m.Groups["type"].Value)}"],
            })
            {
                Status = 400,
                Title = "The request is invalid",
            };
        }
        else
        {
            var json = exception.InnerException as JsonException;
            var field = json?.Path is { Length: > 1 } path ? path.TrimStart('$').TrimStart('.') : "$";
            var message = json is null ? "a JSON body is required" : "is not valid JSON of the expected type";
            details = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
            {
                Status = 400,
                Title = "The request is invalid",
            };
        }
        http.Response.StatusCode = details.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = details, Exception = exception });
    }

    private static string Expected(string type) => type.TrimEnd('?') switch
    {
        "int" or "long" or "short" => "is not a whole number",
        "double" or "float" or "decimal" => "is not a number",
        "bool" => "is not true or false",
        "DateTimeOffset" or "DateTime" => "is not an ISO-8601 date and time",
        "Guid" => "is not a GUID",
        _ => $"is not a valid {type.TrimEnd('?')}",
    };
}

public static class RequestLimits
{
    public const long MaxBodyBytes = 1024 * 1024;

    /// <summary>Endpoint metadata: this endpoint's body limit instead of <see cref="MaxBodyBytes"/>.</summary>
    public sealed record BodyLimit(long Bytes);

    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder endpoint, long bytes) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(new BodyLimit(bytes));

    /// <summary>The body limit of the request's endpoint (routing has run: WebApplication routes first).</summary>
    public static long For(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? MaxBodyBytes;

    public static string TooLarge(long limit) => $"Request bodies are limited to {limit} bytes here.";

    /// <summary>Rejects a declared oversized body before any of it is read (Kestrel also enforces the limit on the stream).</summary>
    public static IApplicationBuilder UseBodySizeLimit(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var limit = For(http);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } f) f.MaxRequestBodySize = limit;
        // not an async lambda: a request within the limit passes through without a state machine of its own
        if (http.Request.ContentLength <= limit || http.Request.ContentLength is null) return next(http);
        http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = 413, Title = "Payload too large", Detail = TooLarge(limit) },
        }).AsTask();
    });
}
