using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// Targeting is bounded when it is saved: flagd's <c>$evaluators</c> cannot multiply a small import into megabytes
/// (issue 23), and a flag's own targeting cannot hold more nodes than the compiler allows.
/// </summary>
public sealed class EvaluatorBoundsTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public EvaluatorBoundsTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    /// <summary>e0 is one comparison; each e(n) is an <c>or</c> of ten <c>$ref</c>s to e(n-1): under 1 KB that expands 10^levels times.</summary>
    private static string Bomb(int levels)
    {
        var evaluators = new JsonObject { ["e0"] = JsonNode.Parse("""{"==":[{"var":"tier"},"gold"]}""") };
        for (var level = 1; level <= levels; level++)
            evaluators[$"e{level}"] = new JsonObject
            {
                ["or"] = new JsonArray([.. Enumerable.Range(0, 10).Select(_ => (JsonNode)new JsonObject { ["$ref"] = $"e{level - 1}" })]),
            };
        var file = new JsonObject
        {
            ["$evaluators"] = evaluators,
            ["flags"] = new JsonObject
            {
                ["bomb"] = new JsonObject
                {
                    ["state"] = "ENABLED",
                    ["variants"] = new JsonObject { ["on"] = true, ["off"] = false },
                    ["defaultVariant"] = "off",
                    ["targeting"] = JsonNode.Parse($$"""{"if":[{"$ref":"e{{levels}}"},"on","off"]}"""),
                },
            },
        };
        return file.ToJsonString();
    }

    [Fact]
    public async Task Import_EvaluatorsThatMultiplyExponentially_Are400NamingTheEvaluator_AndNothingIsWritten()
    {
        var file = Bomb(levels: 5);
        Assert.True(file.Length < 1200, $"the import is {file.Length} bytes");

        var response = await _client.PostRaw("/api/flags/import", file);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.ReadJson()).GetProperty("errors");
        var (field, messages) = errors.EnumerateObject().Select(p => (p.Name, p.Value.ToString())).Single();
        Assert.StartsWith("$evaluators.e", field);
        Assert.Contains("$evaluators.e5", field + messages);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/flags/bomb")).StatusCode);
    }

    [Fact]
    public async Task Import_SharedEvaluatorsThatStaySmall_AreStillExpanded()
    {
        var response = await _client.PostRaw("/api/flags/import", Bomb(levels: 2)); // 100 copies of e0: a few kilobytes

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var flag = await (await _client.GetAsync("/api/flags/bomb")).ReadJson();
        Assert.DoesNotContain("$ref", flag.GetProperty("targeting").GetRawText());
    }

    /// <summary>Targeting of a flag (no $evaluators) whose <c>in</c> list has more elements than the node bound allows.</summary>
    private static string HugeTargeting(int elements)
    {
        var sb = new StringBuilder("""{"in":[{"var":"user"},[""");
        for (var i = 0; i < elements; i++) sb.Append(i == 0 ? "0" : ",0");
        return sb.Append("]]}").ToString();
    }

    [Fact]
    public async Task CreateAndPatch_TargetingWithTooManyNodes_Are400NamingTargeting()
    {
        var targeting = HugeTargeting(120_000);

        var created = await _client.PostRaw("/api/flags", $$"""{"name":"huge-targeting","targeting":{{targeting}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, created.StatusCode);
        Assert.True((await created.ReadJson()).GetProperty("errors").TryGetProperty("targeting", out _));

        Assert.Equal(HttpStatusCode.Created, (await _client.PostRaw("/api/flags", """{"name":"huge-targeting"}""")).StatusCode);
        var patched = await _client.PatchAsync("/api/flags/huge-targeting",
            new StringContent($$"""{"targeting":{{targeting}}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, patched.StatusCode);
        Assert.True((await patched.ReadJson()).GetProperty("errors").TryGetProperty("targeting", out _));
    }
}
