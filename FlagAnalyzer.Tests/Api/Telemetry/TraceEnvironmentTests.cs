using System.Net;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Google.Protobuf;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// Issue 26 item 3 on <c>POST /v1/traces</c>: a request counts in the environment its resource names
/// (<c>deployment.environment.name</c>, or the older <c>deployment.environment</c>), else the ingest key's, else the
/// flag's home; a staging-scoped key's spans naming production are rejected, counted, and land nowhere.
/// </summary>
public sealed class TraceEnvironmentTests : EnvironmentIntakeTestBase
{
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
        return Protobuf((IMessage)export);
    }

    /// <summary>Requests stored in an environment, all variants.</summary>
    private async Task<long> TotalRequestsAsync(string id, string environment) => (await RequestsAsync(id, environment)).Values.Sum();

    private static IEnumerable<Span> Requests(string flag, int count, DateTimeOffset end) =>
        Enumerable.Range(0, count).SelectMany(i => Otlp.Request(flag, i % 2 == 0 ? "on" : "off", end, latencyMs: 50 + i));

    [Fact]
    public async Task ResourceEnvironment_PicksTheEnvironment_ElseTheHome()
    {
        var id = await FlagAsync("otlp-env");
        var end = DateTimeOffset.UtcNow;

        var response = await Admin.PostAsync("/v1/traces", Protobuf(
            Resource(SpanAttribution.EnvironmentAttribute, "staging", Requests("otlp-env", 4, end)),
            Resource(SpanAttribution.LegacyEnvironmentAttribute, "development", Requests("otlp-env", 2, end)),
            Resource(null, null, Requests("otlp-env", 6, end))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await FlushAsync() > 0);

        Assert.Equal(4, await TotalRequestsAsync(id, "staging"));
        Assert.Equal(2, await TotalRequestsAsync(id, "development"));
        Assert.Equal(6, await TotalRequestsAsync(id, "production"));
    }

    [Fact]
    public async Task AStagingIngestKey_WithoutAResourceEnvironment_CountsInStaging_AndNamingProductionIsRejected()
    {
        var id = await FlagAsync("otlp-scoped");
        var key = await Admin.CreateKeyAsync("ingest", "staging");
        using var staging = App.CreateClient().WithKey(key.Secret);
        var end = DateTimeOffset.UtcNow;

        var response = await staging.PostAsync("/v1/traces", Protobuf(
            Resource(null, null, Requests("otlp-scoped", 5, end)),
            Resource(SpanAttribution.EnvironmentAttribute, "production", Requests("otlp-scoped", 3, end))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var partial = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).PartialSuccess;
        Assert.Equal(3, partial.RejectedSpans);
        Assert.Contains("otlp-scoped@production", partial.ErrorMessage);
        Assert.True(await FlushAsync() > 0);

        Assert.Equal(5, await TotalRequestsAsync(id, "staging"));
        Assert.Equal(0, await TotalRequestsAsync(id, "production"));
    }
}
