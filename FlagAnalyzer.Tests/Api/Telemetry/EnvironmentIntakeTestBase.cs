using System.Net.Http.Headers;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Tests.Api.Access;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// What the OTLP environment tests (<see cref="TraceEnvironmentTests"/>, <see cref="MetricsLogsEnvironmentTests"/>) share:
/// an app with telemetry intake, an admin client, production-homed flags, protobuf bodies, and the requests stored per
/// variant in an environment (the impact samples the guardian weighs there).
/// </summary>
public abstract class EnvironmentIntakeTestBase : IDisposable
{
    protected readonly ApiFactory App = TracesApiTests.NewApp();
    protected readonly HttpClient Admin;

    protected EnvironmentIntakeTestBase() => Admin = App.CreateClient();

    public void Dispose()
    {
        App.Dispose();
        GC.SuppressFinalize(this);
    }

    protected Task<int> FlushAsync() => App.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None);

    /// <summary>A flag whose home is production, so what lands elsewhere is there because of the rule under test.</summary>
    protected async Task<string> FlagAsync(string name) =>
        (await (await Admin.PostJson("/api/flags", new { name, targetEnvironment = "production" })).ReadJson()).GetProperty("id").GetString()!;

    protected static ByteArrayContent Protobuf(IMessage message)
    {
        var c = new ByteArrayContent(message.ToByteArray());
        c.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return c;
    }

    /// <summary>Requests stored per variant in an environment.</summary>
    protected async Task<Dictionary<string, long>> RequestsAsync(string id, string environment) =>
        (await (await Admin.GetAsync($"/api/flags/{id}/metrics?environment={environment}")).ReadJson()).GetProperty("items").EnumerateArray()
        .GroupBy(s => s.GetProperty("variant").GetString()!).ToDictionary(g => g.Key, g => g.Sum(s => s.GetProperty("requestCount").GetInt64()));
}
