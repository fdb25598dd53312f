using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using FlagAnalyzer.Benchmarks.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.Benchmarks.Evaluation;

/// <summary>
/// One OFREP single-flag evaluation through the API's whole pipeline in process (TestServer: every middleware, the
/// handler, OpenTelemetry as shipped, Production settings and the admin key, as <c>ofrep-load</c> sends it), against a
/// bare endpoint on TestServer answering the same bytes. The memory column is the point: the difference between the two
/// rows is what the API allocates per evaluation beyond what any endpoint costs (the client side is the same for both).
/// <c>dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- --filter '*OfrepPipelineBenchmarks*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class OfrepPipelineBenchmarks
{
    private const string Body = """{"context":{"targetingKey":"user-123","groups":["free"]}}""";
    private const string Path = "/ofrep/v1/evaluate/flags/new-checkout";
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly byte[] _body = Encoding.UTF8.GetBytes(Body);

    private WebApplicationFactory<FlagAnalyzer.Api.ApiMarker> _api = null!;
    private HttpClient _ofrep = null!;
    private WebApplication _bare = null!;
    private HttpClient _bareClient = null!;
    private string _dataDir = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _dataDir = Directory.CreateTempSubdirectory("flaganalyzer-ofrep-bench-").FullName;
        _api = new WebApplicationFactory<FlagAnalyzer.Api.ApiMarker>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Production");
            b.UseSetting("ConnectionStrings:flagdb", $"Data Source={System.IO.Path.Combine(_dataDir, "flags.db")}");
            b.UseSetting("Auth:BootstrapAdminKey", ApiProcess.AdminKey);
            b.UseSetting("Logging:LogLevel:Default", "Warning");
        });
        _ofrep = ApiProcess.Authorize(_api.CreateClient());
        var created = await _ofrep.PostAsync("/api/flags", new StringContent("""
            {"name":"new-checkout","enabled":true,"rolloutPercentage":100,
             "targeting":{"if":[{"in":["beta",{"var":"groups"}]},"on",{"fractional":[["on",20],["off",80]]}]}}
            """, Encoding.UTF8, "application/json"));
        created.EnsureSuccessStatusCode();
        var answer = await (await Send(_ofrep)).Content.ReadAsByteArrayAsync();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        _bare = builder.Build();
        _bare.MapPost("/ofrep/v1/evaluate/flags/{key}", async (HttpContext http) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(answer);
        });
        await _bare.StartAsync();
        _bareClient = ApiProcess.Authorize(_bare.GetTestClient());
        var bareAnswer = await (await Send(_bareClient)).Content.ReadAsByteArrayAsync();
        if (!answer.AsSpan().SequenceEqual(bareAnswer)) throw new InvalidOperationException("the two endpoints must answer the same bytes");
    }

    /// <summary>The OFREP client (full pipeline) and the bare one, for <see cref="OfrepAllocationsScenario"/>.</summary>
    internal (HttpClient Ofrep, HttpClient Bare) Clients => (_ofrep, _bareClient);

    internal Task<HttpResponseMessage> Send(HttpClient client)
    {
        var content = new ByteArrayContent(_body);
        content.Headers.ContentType = Json;
        return client.PostAsync(Path, content);
    }

    [Benchmark(Baseline = true, Description = "bare endpoint, same bytes (TestServer)")]
    public async Task<int> Bare()
    {
        using var response = await Send(_bareClient);
        return (int)response.StatusCode;
    }

    [Benchmark(Description = "OFREP single flag, full pipeline (TestServer)")]
    public async Task<int> Ofrep()
    {
        using var response = await Send(_ofrep);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"OFREP answered {(int)response.StatusCode}");
        return (int)response.StatusCode;
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _ofrep.Dispose();
        await _api.DisposeAsync();
        _bareClient.Dispose();
        await _bare.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
