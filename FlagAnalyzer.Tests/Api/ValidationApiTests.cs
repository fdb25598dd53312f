using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api;

/// <summary>Bad input is a 400 problem+json whose <c>errors</c> name each bad field; nothing is written.</summary>
public sealed class ValidationApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public ValidationApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private static async Task<string[]> BadFields(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var body = await response.ReadJson();
        return body.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
    }

    [Theory]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""{"description":"no name"}""", "name")]
    [InlineData("""{"name":"Upper-Case"}""", "name")]
    [InlineData("""{"name":"has space"}""", "name")]
    [InlineData("""{"name":"ok","rolloutPercentage":101}""", "rolloutPercentage")]
    [InlineData("""{"name":"ok","rolloutPercentage":-1}""", "rolloutPercentage")]
    [InlineData("""{"name":"ok","targetEnvironment":"Prod Env!"}""", "targetEnvironment")]
    [InlineData("""{"name":"ok","tags":["fine",""]}""", "tags[1]")]
    [InlineData("""{"name":"ok","variants":{"a":1}}""", "variants")]
    [InlineData("""{"name":"ok","enabled":"yes"}""", "enabled")]
    [InlineData("""{"name":"ok","rolloutPercentage":"10"}""", "rolloutPercentage")]
    public async Task CreateFlag_BadField_Is400NamingIt(string body, string field)
    {
        var fields = await BadFields(await _client.PostRaw("/api/flags", body));

        Assert.Equal([field], fields);
        var list = await (await _client.GetAsync("/api/flags")).ReadJson();
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task CreateFlag_NameOver100Chars_Is400()
    {
        Assert.Equal(["name"], await BadFields(await _client.PostJson("/api/flags", new { name = new string('a', 101) })));
        Assert.Equal(HttpStatusCode.Created, (await _client.PostJson("/api/flags", new { name = new string('a', 100) })).StatusCode);
    }

    [Fact]
    public async Task CreateFlag_SeveralBadFields_NamesEachOne()
    {
        var fields = await BadFields(await _client.PostRaw("/api/flags", """{"name":"BAD","rolloutPercentage":500,"targetEnvironment":""}"""));

        Assert.Equal(["name", "rolloutPercentage", "targetEnvironment"], fields);
    }

    [Fact]
    public async Task MalformedJson_Is400()
    {
        var response = await _client.PostRaw("/api/flags", """{"name": "x",""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Patch_BadRollout_Is400AndFlagUnchanged()
    {
        var id = (await (await _client.PostJson("/api/flags", new { name = "patch-me" })).ReadJson()).GetProperty("id").GetString();

        Assert.Equal(["rolloutPercentage"], await BadFields(await _client.PatchAsJsonAsync($"/api/flags/{id}", new { rolloutPercentage = 150 })));
        Assert.Equal(1, (await (await _client.GetAsync($"/api/flags/{id}")).ReadJson()).GetProperty("version").GetInt64());
    }

    [Theory]
    [InlineData("""{"flagName":"x","changeType":"exploded"}""", "changeType")]
    [InlineData("""{"flagName":"x","changeType":"created"}""", "changeType")]
    [InlineData("""{"changeType":"enabled"}""", "flagId")]
    [InlineData("""{"flagName":"x","changeType":"rollout_changed","newValue":{"rolloutPercentage":400}}""", "newValue.rolloutPercentage")]
    [InlineData("""{"flagName":"x","changeType":"enabled","newValue":[1,2]}""", "newValue")]
    public async Task RecordChange_BadField_Is400NamingIt(string body, string field)
    {
        Assert.Equal([field], await BadFields(await _client.PostRaw("/api/flags/change", body)));
    }

    [Fact]
    public async Task RecordChange_UnknownFlag_Is404()
    {
        var response = await _client.PostRaw("/api/flags/change", """{"flagId":"flg_missing","changeType":"enabled"}""");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task BodyOver1MiB_Is413()
    {
        var huge = JsonSerializer.Serialize(new { name = "big", description = new string('x', 1024 * 1024 + 10) });

        var response = await _client.PostRaw("/api/flags", huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
