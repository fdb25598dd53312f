using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Tests.Api;

namespace FlagAnalyzer.Tests.Web;

/// <summary>
/// The web client's types are generated (by every <c>npm run build</c>, so also by the Api build) from
/// FlagAnalyzer.Web/src/api/openapi.json, a copy of the API's <c>/openapi/v1.json</c>. This test fails when the copy
/// drifts from the API; run it with <c>UPDATE_OPENAPI=1</c> to rewrite the copy, then build the web client.
/// </summary>
public sealed class OpenApiContractTests : IDisposable
{
    public static string CopyPath => Path.Combine(RepoPaths.Web, "src", "api", "openapi.json");

    private readonly ApiFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task WebClientsCopyOfTheOpenApiDocument_MatchesTheApi()
    {
        var served = Normalize(await _app.CreateClient().GetStringAsync("/openapi/v1.json"));

        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
            await File.WriteAllTextAsync(CopyPath, served);

        var copy = File.Exists(CopyPath) ? Normalize(await File.ReadAllTextAsync(CopyPath)) : "(missing)";
        Assert.True(copy == served,
            $"{CopyPath} differs from the API's /openapi/v1.json: run this test with UPDATE_OPENAPI=1 to rewrite it, " +
            "then 'npm run build' in FlagAnalyzer.Web to regenerate src/api/openapi.gen.ts and fix what no longer compiles.");
    }

    /// <summary>Indented, with "\n" line ends, without <c>servers</c> (the test host's address).</summary>
    private static string Normalize(string json)
    {
        var doc = JsonNode.Parse(json)!.AsObject();
        doc.Remove("servers");
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n") + "\n";
    }
}
