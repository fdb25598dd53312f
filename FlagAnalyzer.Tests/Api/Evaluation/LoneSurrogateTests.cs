using System.Net;
using System.Text;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// A JSON string escape that is not Unicode text (a lone surrogate, <c>"\ud800"</c>) is the client's mistake: 400 with
/// the OFREP error code on OFREP, a problem elsewhere, never a 500 (issue 23).
/// </summary>
public sealed class LoneSurrogateTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _http;

    public LoneSurrogateTests() => _http = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private const string Lone = "\\ud800"; // the six characters of the escape, as a client sends them

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string json) =>
        _http.SendAsync(new HttpRequestMessage(method, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    [Theory]
    [InlineData("/ofrep/v1/evaluate/flags/plain", "{\"context\":{\"targetingKey\":\"" + Lone + "\"}}")]
    [InlineData("/ofrep/v1/evaluate/flags/plain", "{\"context\":{\"" + Lone + "\":1}}")]
    [InlineData("/ofrep/v1/evaluate/flags/plain", "{\"context\":{\"tags\":[\"a\",{\"b\":\"x" + Lone + "\"}]}}")]
    [InlineData("/ofrep/v1/evaluate/flags", "{\"context\":{\"targetingKey\":\"" + Lone + "\"}}")]
    public async Task Ofrep_ContextWithALoneSurrogate_Is400InvalidContext(string url, string json)
    {
        Assert.Equal(HttpStatusCode.Created, (await _http.PostRaw("/api/flags", """{"name":"plain","enabled":true,"rolloutPercentage":100}""")).StatusCode);

        var response = await SendAsync(HttpMethod.Post, url, json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_CONTEXT", (await response.ReadJson()).GetProperty("errorCode").GetString());
    }

    [Theory]
    [InlineData("POST", "/api/flags/import", "{\"flags\":{\"" + Lone + "\":{\"state\":\"ENABLED\",\"variants\":{\"on\":true},\"defaultVariant\":\"on\"}}}")]
    [InlineData("POST", "/api/flags/import", "{\"flags\":{\"k\":{\"state\":\"ENABLED\",\"variants\":{\"on\":\"" + Lone + "\"},\"defaultVariant\":\"on\"}}}")]
    [InlineData("POST", "/api/flags", "{\"name\":\"surrogate\",\"description\":\"" + Lone + "\"}")]
    [InlineData("POST", "/api/flags", "{\"name\":\"surrogate\",\"variants\":{\"" + Lone + "\":true,\"on\":true,\"off\":false}}")]
    [InlineData("POST", "/api/flags", "{\"name\":\"surrogate\",\"targeting\":{\"==\":[{\"var\":\"k\"},\"" + Lone + "\"]}}")]
    [InlineData("POST", "/api/flags/change", "{\"flagId\":\"x\",\"changeType\":\"updated\",\"newValue\":{\"description\":\"" + Lone + "\"}}")]
    [InlineData("POST", "/api/metrics", "{\"flagId\":\"" + Lone + "\",\"errorRate\":1,\"latencyP50\":1,\"latencyP99\":2,\"requestCount\":1}")]
    [InlineData("POST", "/api/chat", "{\"message\":\"" + Lone + "\"}")]
    [InlineData("POST", "/api/keys", "{\"name\":\"" + Lone + "\",\"role\":\"viewer\"}")]
    [InlineData("POST", "/v1/traces", "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"" + Lone + "\",\"attributes\":[{\"key\":\"feature_flag.key\",\"value\":{\"stringValue\":\"" + Lone + "\"}}]}]}]}]}")]
    [InlineData("POST", "/v1/metrics", "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"" + Lone + "\"}]}]}]}")]
    public async Task JsonBodies_WithALoneSurrogate_Are400NotA500(string method, string url, string json)
    {
        var response = await SendAsync(new HttpMethod(method), url, json);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        if (!url.StartsWith("/v1/", StringComparison.Ordinal))
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
