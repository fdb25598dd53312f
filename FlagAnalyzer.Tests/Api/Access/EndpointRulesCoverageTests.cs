using FlagAnalyzer.Api.Access;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>Every endpoint the app maps has a row in Access/EndpointRules.cs: a new endpoint without one fails here.</summary>
public sealed class EndpointRulesCoverageTests : IDisposable
{
    private readonly ApiFactory _app = new();

    [Fact]
    public void EveryMappedEndpoint_HasAnAccessRule()
    {
        _app.CreateClient(); // builds the app
        var endpoints = AccessHarness.MappedEndpoints(_app.Services);
        var missing = endpoints.Where(e => EndpointRules.Find(e.Method, e.Pattern) is null).Select(e => $"{e.Method} {e.Pattern}").ToList();

        Assert.True(endpoints.Count > 20, $"only {endpoints.Count} endpoints found");
        Assert.True(missing.Count == 0, "No access rule (add a row to FlagAnalyzer.Api/Access/EndpointRules.cs): " + string.Join(", ", missing));
    }

    public void Dispose() => _app.Dispose();
}
