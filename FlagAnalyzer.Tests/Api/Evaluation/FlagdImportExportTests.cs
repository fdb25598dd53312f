using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Evaluation;

public sealed class FlagdImportExportTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public FlagdImportExportTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    // a flagd flag-set file in the shape of flagd's own examples: flags as an object, a shared evaluator
    private const string File = """
        {
          "$schema": "https://flagd.dev/schema/v0/flags.json",
          "flags": {
            "headerColor": {
              "state": "ENABLED",
              "variants": {"red": "#FF0000", "blue": "#0000FF", "green": "#00FF00", "yellow": "#FFFF00"},
              "defaultVariant": "red",
              "targeting": {"if": [{"$ref": "isFaas"}, {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, ["red", 25], ["blue", 25], ["green", 25], ["yellow", 25]]}, null]}
            },
            "new-welcome": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}
          },
          "$evaluators": {"isFaas": {"in": ["@faas.com", {"var": ["email"]}]}}
        }
        """;

    private async Task<JsonElement> Evaluate(string key, object context) =>
        await (await _client.PostAsJsonAsync($"/ofrep/v1/evaluate/flags/{key}", new { context })).ReadJson();

    [Fact]
    public async Task Import_FlagdFile_ServesItsFlags_AndLogsEachChange()
    {
        var response = await _client.PostRaw("/api/flags/import?environment=staging", File);
        var summary = await response.ReadJson();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["headerColor", "new-welcome"], summary.GetProperty("created").EnumerateArray().Select(e => e.GetString()).Order());
        var rachel = await Evaluate("headerColor", new { email = "rachel@faas.com" });
        Assert.Equal(("blue", "TARGETING_MATCH"), (rachel.GetProperty("variant").GetString(), rachel.GetProperty("reason").GetString()));
        Assert.Equal("DISABLED", (await Evaluate("new-welcome", new { })).GetProperty("reason").GetString());

        var flags = await (await _client.GetAsync("/api/flags?environment=staging")).ReadJson();
        var header = flags.GetProperty("items").EnumerateArray().Single(f => f.GetProperty("key").GetString() == "headerColor");
        Assert.Equal("headercolor", header.GetProperty("name").GetString());
        var changes = await (await _client.GetAsync($"/api/flags/{header.GetProperty("id").GetString()}/changes")).ReadJson();
        Assert.Equal("created", changes.GetProperty("items")[0].GetProperty("changeType").GetString());
    }

    [Fact]
    public async Task Import_ExistingKey_IsUpdated_WithAChangeRow()
    {
        await _client.PostRaw("/api/flags/import", File);
        var changed = File.Replace("\"state\": \"DISABLED\"", "\"state\": \"ENABLED\"");

        var summary = await (await _client.PostRaw("/api/flags/import", changed)).ReadJson();

        Assert.Equal(["new-welcome"], summary.GetProperty("updated").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, summary.GetProperty("unchanged").GetInt32());
        Assert.Equal("STATIC", (await Evaluate("new-welcome", new { })).GetProperty("reason").GetString());
        var changes = await (await _client.GetAsync("/api/flags/new-welcome/changes")).ReadJson();
        Assert.Equal("enabled", changes.GetProperty("items")[0].GetProperty("changeType").GetString());
    }

    [Fact]
    public async Task Import_FlagsAsArray_IsAccepted()
    {
        const string array = """{"flags": [{"key": "arrayFlag", "state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "b"}]}""";
        Assert.Equal(HttpStatusCode.OK, (await _client.PostRaw("/api/flags/import", array)).StatusCode);
        Assert.Equal(2, (await Evaluate("arrayFlag", new { })).GetProperty("value").GetInt32());
    }

    [Theory]
    [InlineData("""{"flags": {"good": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}, "bad": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on", "targeting": {"if": [{"nope": [1]}, "on"]}}}}""", "flags.bad.targeting.if[0].nope")]
    [InlineData("""{"flags": {"good": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}, "bad": {"state": "MAYBE", "variants": {"on": true}, "defaultVariant": "on"}}}""", "flags.bad.state")]
    [InlineData("""{"flags": {"good": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}, "bad": {"state": "ENABLED", "variants": {"on": true, "x": "s"}, "defaultVariant": "on"}}}""", "flags.bad.variants.x")]
    [InlineData("""{"flags": {"good": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}, "bad": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"$ref": "missing"}}}}""", "flags.bad.targeting.$ref")]
    public async Task Import_BadFile_Is400NamingFlagAndPath_AndImportsNothing(string file, string path)
    {
        var response = await _client.PostRaw("/api/flags/import", file);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(path, (await response.ReadJson()).GetProperty("errors").EnumerateObject().Select(p => p.Name));
        Assert.Empty((await (await _client.GetAsync("/api/flags")).ReadJson()).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Export_RoundTrips_AndARolloutBecomesAnEquivalentFractional()
    {
        await _client.PostRaw("/api/flags", """{"name":"half","enabled":true,"rolloutPercentage":37.5}""");
        var before = await Evaluate("half", new { targetingKey = "user-42" });

        var file = await (await _client.GetAsync("/api/flags/export?format=flagd")).ReadJson();
        var half = file.GetProperty("flags").GetProperty("half");
        Assert.Equal(3750, half.GetProperty("targeting").GetProperty("fractional")[0][1].GetInt32());

        using var other = new ApiFactory();
        var client = other.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostRaw("/api/flags/import", file.GetRawText())).StatusCode);
        var after = await (await client.PostAsJsonAsync("/ofrep/v1/evaluate/flags/half", new { context = new { targetingKey = "user-42" } })).ReadJson();
        Assert.Equal(before.GetProperty("variant").GetString(), after.GetProperty("variant").GetString());
    }
}
