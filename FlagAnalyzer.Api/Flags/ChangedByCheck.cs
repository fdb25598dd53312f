using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// Who made a change may come from a body's <c>changedBy</c>, the <c>X-Changed-By</c> header or a <c>?changedBy=</c>
/// query parameter. Bodies are checked by each endpoint's rules (<see cref="FlagRules.CheckChangedBy"/>); the header and
/// the query parameter are checked here, once for every endpoint, with the same rules: no control characters, no
/// bidirectional overrides (<c>\u202eniadraug</c> displays as "guardian"), at most <see cref="FlagRules.MaxOwnerLength"/>
/// characters. A bad one is 400 naming where it came from.
/// </summary>
public static class ChangedByCheck
{
    public const string Header = "X-Changed-By";
    public const string QueryParameter = "changedBy";

    public static IApplicationBuilder UseChangedByCheck(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        // not an async lambda, and no validator for the requests that carry neither (most: every SDK evaluation)
        var hasHeader = http.Request.Headers.TryGetValue(Header, out var header);
        var hasQuery = http.Request.QueryString.HasValue && http.Request.Query.TryGetValue(QueryParameter, out _);
        if (!hasHeader && !hasQuery) return next(http);
        var v = new Validator();
        if (hasHeader) Check(header.ToString(), Header, v);
        if (hasQuery) Check(http.Request.Query[QueryParameter].ToString(), QueryParameter, v);
        return v.IsValid ? next(http) : RefuseAsync(http, v);
    });

    private static async Task RefuseAsync(HttpContext http, Validator v)
    {
        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new Microsoft.AspNetCore.Http.HttpValidationProblemDetails(v.Errors.ToDictionary())
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request is invalid",
            },
        });
    }

    private static void Check(string value, string field, Validator v)
    {
        if (value.Length > FlagRules.MaxOwnerLength) v.Add(field, $"must be at most {FlagRules.MaxOwnerLength} characters");
        else FlagRules.CheckText(value, field, v);
    }
}
