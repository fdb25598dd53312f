using System.Net;
using System.Net.Http.Headers;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// Issue 26 item 3 on <c>POST /v1/traces</c>: a request counts in the environment its resource names
/// (<c>deployment.environment.name</c>, or the older <c>deployment.environment</c>), else the ingest key's, else the
/// flag's home; a staging-scoped key's spans naming production are rejected, counted, and land nowhere.
/// </summary>
public sealed class TraceEnvironmentTests : IDisposable
{
    private readonly ApiFactory _app = TracesApiTests.NewApp();
    private readonly HttpClient _admin;

    public TraceEnvironmentTests() => _admin = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private Task<int> FlushAsync() => _app.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None);

    private static ResourceSpans Resource(string? attribute, string? environment, IEnumerable<Span> spans)
    {
        var resource = new Resource { Attributes = { Otlp.Attr("service.name", "svc") } };
        if (attribute is not null) resource.Attributes.Add(Otlp.Attr(attribute, environment!));
        return new ResourceSpans { Resource = resource, ScopeSpans = { new ScopeSpans { Spans = { spans } } } };
    }

    private static ByteArrayContent Protobuf(params ResourceSpans[] resources)
    {
        var export = new ExportTraceServiceRequest();
        export.ResourceSpans.AddRange(resources);
        var c = new ByteArrayContent(export.ToByteArray());
        c.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return c;
    }

    private async Task<string> FlagAsync(string name) =>
        (await (await _admin.PostJson("/api/flags", new { name, targetEnvironment = "production" })).ReadJson()).GetProperty("id").GetString()!;

    /// <summary>Requests stored per environment: the sum of requestCount over the flag's samples there.</summary>
    private async Task<long> RequestsAsync(string id, string environment) =>
        (await (await _admin.GetAsync($"/api/flags/{id}/metrics?environment={environment}")).ReadJson()).GetProperty("items").EnumerateArray()
        .Sum(s => s.GetProperty("requestCount").GetInt64());

    private static IEnumerable<Span> Requests(string flag, int count, DateTimeOffset end) =>
        Enumerable.Range(0, count).SelectMany(i => Otlp.Request(flag, i % 2 == 0 ? "on" : "off", end, latencyMs: 50 + i));

    [Fact]
    public async Task ResourceEnvironment_PicksTheEnvironment_ElseTheHome()
    {
        var id = await FlagAsync("otlp-env");
        var end = DateTimeOffset.UtcNow;

        var response = await _admin.PostAsync("/v1/traces", Protobuf(
            Resource(SpanAttribution.EnvironmentAttribute, "staging", Requests("otlp-env", 4, end)),
            Resource(SpanAttribution.LegacyEnvironmentAttribute, "development", Requests("otlp-env", 2, end)),
            Resource(null, null, Requests("otlp-env", 6, end))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await FlushAsync() > 0);

        Assert.Equal(4, await RequestsAsync(id, "staging"));
        Assert.Equal(2, await RequestsAsync(id, "development"));
        Assert.Equal(6, await RequestsAsync(id, "production"));
    }

    [Fact]
    public async Task AStagingIngestKey_WithoutAResourceEnvironment_CountsInStaging_AndNamingProductionIsRejected()
    {
        var id = await FlagAsync("otlp-scoped");
        var key = await _admin.CreateKeyAsync("ingest", "staging");
        using var staging = _app.CreateClient().WithKey(key.Secret);
        var end = DateTimeOffset.UtcNow;

        var response = await staging.PostAsync("/v1/traces", Protobuf(
            Resource(null, null, Requests("otlp-scoped", 5, end)),
            Resource(SpanAttribution.EnvironmentAttribute, "production", Requests("otlp-scoped", 3, end))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var partial = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).PartialSuccess;
        Assert.Equal(3, partial.RejectedSpans);
        Assert.Contains("otlp-scoped@production", partial.ErrorMessage);
        Assert.True(await FlushAsync() > 0);

        Assert.Equal(5, await RequestsAsync(id, "staging"));
        Assert.Equal(0, await RequestsAsync(id, "production"));
    }
}
