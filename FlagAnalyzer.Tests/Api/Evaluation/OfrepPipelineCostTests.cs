using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// What an OFREP evaluation costs the pipeline (issue 26: OFREP ≥ 0.6 × a bare Kestrel endpoint): it is served on a lean
/// branch (<c>OfrepApi.UseOfrepEvaluation</c>) that checks the key once, through the verifier, not through ASP.NET Core's
/// authentication service with a handler resolved from a per-request scope — and still refuses what the access rules refuse.
/// The throughput itself is measured by the <c>ofrep-load</c> benchmark.
/// </summary>
public sealed class OfrepPipelineCostTests
{
    [Fact]
    public async Task Evaluation_IsServedWithoutTheAuthenticationService_AndStillChecksTheKey()
    {
        var recording = new AuthenticationRecording();
        var paths = recording.Paths;
        using var app = new ApiFactory { ConfigureServices = recording.AddTo };
        var admin = app.CreateClient();
        (await admin.PostAsJsonAsync("/api/flags", new { name = "lean-path", targetEnvironment = "production", enabled = true, rolloutPercentage = 100 }))
            .EnsureSuccessStatusCode();
        var key = await admin.CreateKeyAsync("sdk", "production");
        var sdk = app.CreateClient().WithKey(key.Secret);
        var body = new { context = new { targetingKey = "u" } };

        var served = await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags/lean-path", body);
        var bulk = await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags", body);
        var viewer = await admin.CreateKeyAsync("viewer", null);
        var refusedRole = await app.CreateClient().WithKey(viewer.Secret).PostAsJsonAsync("/ofrep/v1/evaluate/flags/lean-path", body);
        var noKey = await app.CreateClient().WithoutKey().PostAsJsonAsync("/ofrep/v1/evaluate/flags/lean-path", body);
        var badKey = await app.CreateClient().WithKey("fa_not-a-key-0123456789").PostAsJsonAsync("/ofrep/v1/evaluate/flags/lean-path", body);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (served.StatusCode, bulk.StatusCode));
        Assert.Equal(HttpStatusCode.Forbidden, refusedRole.StatusCode);
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (noKey.StatusCode, badKey.StatusCode));
        Assert.Contains("/api/flags", paths); // the recorder sees what goes through the authentication service
        Assert.DoesNotContain(paths, p => p.StartsWith("/ofrep/v1/evaluate", StringComparison.Ordinal));
    }
}
