using FlagAnalyzer.Api.Access;

namespace FlagAnalyzer.Tests.Unit.Access;

public sealed class EndpointRulesTests
{
    [Theory]
    [InlineData("GET", "/api/flags/", "viewer", true)]
    [InlineData("HEAD", "/api/flags/", "viewer", true)]
    [InlineData("POST", "/api/flags/", "viewer", false)]
    [InlineData("POST", "/api/flags/", "editor", true)]
    [InlineData("POST", "/api/metrics", "ingest", true)]
    [InlineData("GET", "/api/flags/", "ingest", false)]
    [InlineData("POST", "/api/keys/", "editor", false)]
    [InlineData("POST", "/api/keys/", "admin", true)]
    [InlineData("POST", "/api/chat/", "viewer", false)]
    [InlineData("POST", "/ofrep/v1/evaluate/flags", "sdk", true)]
    [InlineData("POST", "/ofrep/v1/evaluate/flags", "viewer", false)]
    [InlineData("GET", "/ws", "sdk", false)]
    public void Roles(string method, string pattern, string role, bool allowed)
    {
        ApiRoles.TryParse(role, out var r);
        Assert.Equal(allowed, EndpointRules.Find(method, pattern)!.Allows(r));
    }

    [Fact]
    public void UnknownEndpoint_HasNoRule_AndIsRefused() => Assert.Null(EndpointRules.Find("GET", "/api/secret-admin-thing"));

    [Fact]
    public void OnlyTheServicePages_ArePublic() =>
        Assert.Equal(["* /alive", "* /health", "GET /", "GET /openapi/{documentName}.json", "GET /ui/{**path}"],
            EndpointRules.All.Where(r => r.Value.Public && !r.Value.UrlCredential).Select(r => $"{r.Key.Method} {r.Key.Pattern}").Order(StringComparer.Ordinal));

    /// <summary>Keyless for the access layer, but not public: the handler answers 401 without the URL's own credential.</summary>
    [Fact]
    public void OnlyTheOfrepEventStream_TakesItsCredentialFromTheUrl() =>
        Assert.Equal(["GET /ofrep/v1/events"],
            EndpointRules.All.Where(r => r.Value.UrlCredential).Select(r => $"{r.Key.Method} {r.Key.Pattern}").Order(StringComparer.Ordinal));

    [Fact]
    public void Roles_AreSerialisedLowerCase() =>
        Assert.Equal("\"ingest\"", System.Text.Json.JsonSerializer.Serialize(ApiRole.Ingest));
}
