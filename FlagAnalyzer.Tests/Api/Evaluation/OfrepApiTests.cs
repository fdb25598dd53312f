using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Evaluation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>OFREP over the real API: shapes and status codes as open-feature/protocol service/openapi.yaml defines them.</summary>
public sealed class OfrepApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public OfrepApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private const string Colors = """{"red":"#FF0000","blue":"#0000FF","green":"#00FF00","yellow":"#FFFF00"}""";

    private async Task<JsonElement> Create(string json)
    {
        var response = await _client.PostRaw("/api/flags", json);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadJson();
    }

    private Task<HttpResponseMessage> Evaluate(string key, object context) =>
        _client.PostAsJsonAsync($"/ofrep/v1/evaluate/flags/{key}", new { context });

    [Fact]
    public async Task Fractional_FlagdVector_ServesBlueForRachel()
    {
        await Create($$$"""
            {"name":"header-color","key":"headerColor","enabled":true,"rolloutPercentage":100,"variants":{{{Colors}}},"defaultVariant":"red","offVariant":"red",
             "targeting":{"if":[{"in":["@faas.com",{"var":["email"]}]},{"fractional":[{"cat":[{"var":"$flagd.flagKey"},{"var":"email"}]},["red",25],["blue",25],["green",25],["yellow",25]]},null]}}
            """);

        var response = await Evaluate("headerColor", new { targetingKey = "u1", email = "rachel@faas.com" });
        var body = await response.ReadJson();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("headerColor", body.GetProperty("key").GetString());
        Assert.Equal("#0000FF", body.GetProperty("value").GetString());
        Assert.Equal("blue", body.GetProperty("variant").GetString());
        Assert.Equal("TARGETING_MATCH", body.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Object, body.GetProperty("metadata").ValueKind);
    }

    [Fact]
    public async Task PlainFlag_EnabledIsStaticTrue_DisabledIsDisabledFalse()
    {
        await Create("""{"name":"plain-on","enabled":true,"rolloutPercentage":100}""");
        await Create("""{"name":"plain-off","enabled":false}""");

        var on = await (await Evaluate("plain-on", new { })).ReadJson();
        var off = await (await Evaluate("plain-off", new { })).ReadJson();

        Assert.Equal((true, "on", "STATIC"), (on.GetProperty("value").GetBoolean(), on.GetProperty("variant").GetString(), on.GetProperty("reason").GetString()));
        Assert.Equal((false, "off", "DISABLED"), (off.GetProperty("value").GetBoolean(), off.GetProperty("variant").GetString(), off.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task UnknownFlag_Is404FlagNotFound_WithKey()
    {
        var response = await Evaluate("nope", new { targetingKey = "u" });
        var body = await response.ReadJson();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(("nope", "FLAG_NOT_FOUND"), (body.GetProperty("key").GetString(), body.GetProperty("errorCode").GetString()));
    }

    [Theory]
    [InlineData("{not json", "PARSE_ERROR")]
    [InlineData("""{"context":"a string"}""", "INVALID_CONTEXT")]
    [InlineData("""{"context":{"targetingKey":42}}""", "INVALID_CONTEXT")]
    public async Task BadRequestBody_Is400_WithKeyAndErrorCode(string raw, string code)
    {
        await Create("""{"name":"any","enabled":true,"rolloutPercentage":100}""");

        var response = await _client.PostRaw("/ofrep/v1/evaluate/flags/any", raw);
        var body = await response.ReadJson();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(("any", code), (body.GetProperty("key").GetString(), body.GetProperty("errorCode").GetString()));
    }

    [Fact]
    public async Task PartialRollout_WithoutTargetingKey_IsTargetingKeyMissing_WithOneSplitPerKey()
    {
        await Create("""{"name":"half","enabled":true,"rolloutPercentage":50}""");

        var missing = await Evaluate("half", new { email = "x@y.z" });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("TARGETING_KEY_MISSING", (await missing.ReadJson()).GetProperty("errorCode").GetString());

        var split = await (await Evaluate("half", new { targetingKey = "user-7" })).ReadJson();
        Assert.Equal("SPLIT", split.GetProperty("reason").GetString());
        var again = await (await Evaluate("half", new { targetingKey = "user-7" })).ReadJson();
        Assert.Equal(split.GetProperty("variant").GetString(), again.GetProperty("variant").GetString());
    }

    [Fact]
    public async Task Bulk_CarriesETag_304WhenUnchanged_200AfterAChange()
    {
        var flag = await Create("""{"name":"bulk-a","enabled":true,"rolloutPercentage":100}""");
        await Create("""{"name":"bulk-b","enabled":false}""");
        var request = new { context = new { targetingKey = "u1" } };

        var first = await _client.PostAsJsonAsync("/ofrep/v1/evaluate/flags", request);
        var etag = first.Headers.ETag;
        var body = await first.ReadJson();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotNull(etag);
        Assert.Equal(["bulk-a", "bulk-b"], body.GetProperty("flags").EnumerateArray().Select(f => f.GetProperty("key").GetString()).Order());

        using var conditional = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent.Create(request) };
        conditional.Headers.IfNoneMatch.Add(etag!);
        var notModified = await _client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, (await _client.PatchAsJsonAsync($"/api/flags/{flag.GetProperty("id").GetString()}", new { enabled = false })).StatusCode);
        using var after = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent.Create(request) };
        after.Headers.IfNoneMatch.Add(etag!);
        var changed = await _client.SendAsync(after);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
        var a = (await changed.ReadJson()).GetProperty("flags").EnumerateArray().Single(f => f.GetProperty("key").GetString() == "bulk-a");
        Assert.Equal("DISABLED", a.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Change_IsServedByTheNextEvaluation()
    {
        var flag = await Create("""{"name":"flip","enabled":true,"rolloutPercentage":100,"variants":{"a":"A","b":"B"},"defaultVariant":"a","offVariant":"b"}""");
        Assert.Equal("A", (await (await Evaluate("flip", new { })).ReadJson()).GetProperty("value").GetString());

        await _client.PatchAsJsonAsync($"/api/flags/{flag.GetProperty("id").GetString()}", new { defaultVariant = "b" });

        Assert.Equal("B", (await (await Evaluate("flip", new { })).ReadJson()).GetProperty("value").GetString());
    }

    [Theory]
    [InlineData("""{"name":"t1","targeting":{"if":[{"bogus":[1]},"on"]}}""", "targeting.if[0].bogus")]
    [InlineData("""{"name":"t2","variants":{"a":true,"b":"x"},"defaultVariant":"a","offVariant":"a"}""", "variants.b")]
    [InlineData("""{"name":"t3","targeting":{"fractional":[["on",50],["of",50]]}}""", "targeting.fractional[1][0]")]
    [InlineData("""{"name":"t4","variants":{"on":1,"off":0},"defaultVariant":"missing"}""", "defaultVariant")]
    [InlineData("""{"name":"t5","key":"has space"}""", "key")]
    [InlineData("""{"name":"t6","variants":[1,2]}""", "variants")]
    public async Task Save_UnservableDefinition_Is400NamingThePath(string json, string path)
    {
        var response = await _client.PostRaw("/api/flags", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadJson()).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains(path, errors);
    }

    [Fact]
    public async Task Key_IsCaseSensitiveAndUnique_AndSurvivesARename()
    {
        var flag = await Create("""{"name":"header-color","key":"headerColor","enabled":true,"rolloutPercentage":100}""");
        Assert.Equal("headerColor", flag.GetProperty("key").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostRaw("/api/flags", """{"name":"other","key":"headerColor"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _client.PostRaw("/api/flags", """{"name":"other","key":"HeaderColor"}""")).StatusCode);

        await _client.PatchAsJsonAsync($"/api/flags/{flag.GetProperty("id").GetString()}", new { name = "header-colour" });

        Assert.Equal(HttpStatusCode.OK, (await Evaluate("headerColor", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Evaluate("headercolor", new { })).StatusCode);
    }

    [Fact]
    public async Task Exposures_CountServedVariants_AndCheckTheSplit()
    {
        var flag = await Create("""{"name":"exposed","enabled":true,"rolloutPercentage":30}""");
        for (var i = 0; i < 200; i++) await Evaluate("exposed", new { targetingKey = $"user-{i}" });

        var body = await (await _client.GetAsync($"/api/flags/{flag.GetProperty("id").GetString()}/exposures")).ReadJson();
        var counts = body.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
        Assert.Equal(200, counts.Values.Sum());
        Assert.True(counts["on"] > 30 && counts["off"] > 100, string.Join(",", counts));
        var srm = body.GetProperty("srm");
        Assert.Equal(0.3, srm.GetProperty("expectedDefaultShare").GetDouble(), 6);
        Assert.False(srm.GetProperty("mismatch").GetBoolean());

        // the flusher writes them in one transaction; the counts stay the same
        await _app.Services.GetRequiredService<FlagAnalyzer.Api.Evaluation.Exposures.ExposureFlusher>().FlushAsync(default);
        var flushed = await (await _client.GetAsync($"/api/flags/{flag.GetProperty("id").GetString()}/exposures")).ReadJson();
        Assert.Equal(200, flushed.GetProperty("variants").EnumerateArray().Sum(v => v.GetProperty("count").GetInt64()));
    }
}

/// <summary>The access seam: a scope from the request decides which flags an SDK sees, or refuses it without a body.</summary>
public sealed class OfrepAccessTests : IDisposable
{
    private sealed class FixedAccess(OfrepScope scope) : IOfrepAccess
    {
        public OfrepScope ScopeOf(HttpContext http) => scope;
    }

    private ApiFactory? _app;

    public void Dispose() => _app?.Dispose();

    private HttpClient Client(OfrepScope scope, Dictionary<string, string?>? settings = null)
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<IOfrepAccess>(new FixedAccess(scope)) };
        foreach (var (k, v) in settings ?? []) _app.Settings[k] = v;
        return _app.CreateClient();
    }

    [Fact]
    public async Task EnvironmentScope_HidesOtherEnvironments()
    {
        var client = Client(new OfrepScope(null, "production"));
        await client.PostRaw("/api/flags", """{"name":"prod-flag","targetEnvironment":"production","enabled":true,"rolloutPercentage":100}""");
        await client.PostRaw("/api/flags", """{"name":"dev-flag","targetEnvironment":"development","enabled":true,"rolloutPercentage":100}""");

        Assert.Equal(HttpStatusCode.OK, (await client.PostRaw("/ofrep/v1/evaluate/flags/prod-flag", """{"context":{}}""")).StatusCode);
        // issue 26: every flag is configured in every environment, so the key gets production's configuration of the
        // development flag (disabled: the off variant), never development's enabled one
        var hidden = await client.PostRaw("/ofrep/v1/evaluate/flags/dev-flag", """{"context":{}}""");
        Assert.Equal(HttpStatusCode.OK, hidden.StatusCode);
        var served = await hidden.ReadJson();
        Assert.Equal(("off", "DISABLED", false), (served.GetProperty("variant").GetString(), served.GetProperty("reason").GetString(), served.GetProperty("value").GetBoolean()));
        var bulk = await (await client.PostRaw("/ofrep/v1/evaluate/flags", """{"context":{}}""")).ReadJson();
        var flags = bulk.GetProperty("flags").EnumerateArray().ToDictionary(f => f.GetProperty("key").GetString()!);
        Assert.Equal(["dev-flag", "prod-flag"], flags.Keys.Order());
        Assert.Equal("DISABLED", flags["dev-flag"].GetProperty("reason").GetString());
        Assert.Equal("on", flags["prod-flag"].GetProperty("variant").GetString());
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task Denied_HasNoBody(int status)
    {
        var client = Client(new OfrepScope(status, null));
        var single = await client.PostRaw("/ofrep/v1/evaluate/flags/x", """{"context":{}}""");
        var bulk = await client.PostRaw("/ofrep/v1/evaluate/flags", """{"context":{}}""");

        Assert.Equal(status, (int)single.StatusCode);
        Assert.Equal(status, (int)bulk.StatusCode);
        Assert.Empty(await single.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Cors_AllowsOnlyConfiguredOrigins()
    {
        var client = Client(OfrepScope.All, new() { ["Evaluation:CorsOrigins:0"] = "https://app.example" });
        async Task<HttpResponseMessage> Preflight(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, "/ofrep/v1/evaluate/flags/x");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "content-type");
            return await client.SendAsync(request);
        }

        var allowed = await Preflight("https://app.example");
        var other = await Preflight("https://evil.example");

        Assert.Equal(["https://app.example"], allowed.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task OverTheRateLimit_Is429WithRetryAfterSeconds()
    {
        var client = Client(OfrepScope.All, new() { ["Evaluation:RequestsPerSecond"] = "2" });
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 10 && limited is null; i++)
        {
            var r = await client.PostRaw("/ofrep/v1/evaluate/flags/x", """{"context":{}}""");
            if (r.StatusCode == HttpStatusCode.TooManyRequests) limited = r;
        }
        Assert.NotNull(limited);
        Assert.True(int.TryParse(limited!.Headers.RetryAfter?.ToString(), out var seconds) && seconds >= 1, limited.Headers.RetryAfter?.ToString());
    }
}
