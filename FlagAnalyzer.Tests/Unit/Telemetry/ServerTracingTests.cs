using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>
/// Which requests the API traces (<see cref="ServiceDefaultsExtensions.IsTraced"/>, the ASP.NET Core instrumentation's
/// filter): an OFREP evaluation only inside a caller's trace, so an SDK evaluating per user request does not make a root
/// trace per evaluation, while the trace of a request that needed the flag still shows it.
/// </summary>
public sealed class ServerTracingTests
{
    private const string CallersTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private sealed class ActivityFeature(Activity activity) : IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }

    private static HttpContext Request(string path, string? traceparent = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn");
        if (traceparent is not null) activity.SetParentId(traceparent);
        context.Features.Set<IHttpActivityFeature>(new ActivityFeature(activity));
        return context;
    }

    [Theory]
    [InlineData("/ofrep/v1/evaluate/flags")]
    [InlineData("/ofrep/v1/evaluate/flags/checkout")]
    public void Evaluation_WithoutACallersTrace_IsNotTraced(string path) =>
        Assert.False(ServiceDefaultsExtensions.IsTraced(Request(path)));

    [Fact]
    public void Evaluation_InsideACallersTrace_IsTraced() =>
        Assert.True(ServiceDefaultsExtensions.IsTraced(Request("/ofrep/v1/evaluate/flags/checkout", CallersTrace)));

    [Theory]
    [InlineData("/api/flags")]
    [InlineData("/v1/traces")]
    [InlineData("/ofrep/v1/evaluatex")]
    public void OtherRequests_AreTraced_WithOrWithoutACaller(string path) =>
        Assert.True(ServiceDefaultsExtensions.IsTraced(Request(path)));

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/ofrep/v1/events")]
    public void ProbesAndEventStreams_AreNeverTraced(string path) =>
        Assert.False(ServiceDefaultsExtensions.IsTraced(Request(path, CallersTrace)));
}
