using System.Net.Http.Headers;
using System.Text.Json;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>Keys for tests: created through <c>POST /api/keys</c> with the bootstrap admin key, as an operator would.</summary>
public static class AccessHarness
{
    public sealed record TestKey(string Id, string Secret, string Role, string? Environment);

    public static async Task<TestKey> CreateKeyAsync(this HttpClient admin, string role, string? environment = null, string? name = null)
    {
        var response = await admin.PostJson("/api/keys", new { name = name ?? $"{role} for tests", role, environment });
        var body = await response.ReadAs<JsonElement>();
        return new TestKey(body.GetProperty("key").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!, role, environment);
    }

    public static async Task RevokeAsync(this HttpClient admin, string keyId) =>
        await (await admin.PostAsync($"/api/keys/{keyId}/revoke", null)).ReadAs<JsonElement>();

    public static HttpClient WithKey(this HttpClient client, string? secret)
    {
        client.DefaultRequestHeaders.Authorization = secret is null ? null : new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    /// <summary>Every (method, route pattern) the app maps; <c>*</c> for endpoints without a method list.</summary>
    public static List<(string Method, string Pattern)> MappedEndpoints(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } methods ? methods : [EndpointRules.AnyMethod])
                .Select(m => (m, e.RoutePattern.RawText ?? "")))
            .Distinct().OrderBy(e => e.Item2, StringComparer.Ordinal).ThenBy(e => e.m, StringComparer.Ordinal).ToList();

    /// <summary>A concrete URL for a pattern: every parameter gets a value no resource has.</summary>
    public static string Url(string pattern) => System.Text.RegularExpressions.Regex.Replace(pattern, @"\{\*?\*?([a-zA-Z]+)[^}]*\}", m => m.Groups[1].Value switch
    {
        "path" => "index.html",
        "documentName" => "v1",
        _ => "no-such-" + m.Groups[1].Value.ToLowerInvariant(),
    });
}
