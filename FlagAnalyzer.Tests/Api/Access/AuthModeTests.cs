using System.Net;
using System.Text.Json;
using FlagAnalyzer.Tests.Api.Assistant;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>Start-up without a key, with authentication disabled, and with a bootstrap key too short to trust.</summary>
public sealed class AuthModeTests
{
    [Fact]
    public async Task NoKeyConfiguredOrStored_StartsSaysHowOnce_AndRefusesEveryProtectedCall()
    {
        var log = new LogRecorder();
        using var app = new ApiFactory { Settings = { [TestKeys.Setting] = "" }, ConfigureServices = s => s.AddSingleton<ILoggerProvider>(log) };
        var client = app.CreateAnonymousClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/flags")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/api/analyze", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().GetAsync("/api/flags")).StatusCode); // the test key was never created
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive")).StatusCode);
        Assert.Single(log.Entries, e => e.Message.Contains("No API key exists", StringComparison.Ordinal) && e.Message.Contains("Auth:BootstrapAdminKey"));
        var auth = (await (await client.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("auth");
        Assert.Equal("Degraded", auth.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Disabled_LetsEveryoneIn_AndHealthAndMeSayItPlainly()
    {
        using var app = new ApiFactory { Settings = { ["Auth:Mode"] = "disabled" } };
        var client = app.CreateAnonymousClient();

        Assert.Equal(HttpStatusCode.Created, (await client.PostJson("/api/flags", new { name = "open-door" })).StatusCode);
        var auth = (await (await client.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("auth");
        Assert.Equal("Degraded", auth.GetProperty("status").GetString());
        Assert.Contains("DISABLED", auth.GetProperty("description").GetString());
        var me = await (await client.GetAsync("/api/auth/me")).ReadAs<JsonElement>();
        Assert.Equal("disabled", me.GetProperty("authMode").GetString());
    }

    [Fact]
    public void ShortBootstrapKey_FailsTheStart()
    {
        using var app = new ApiFactory { Settings = { [TestKeys.Setting] = "too-short" } };

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());
        Assert.Contains("at least 32 characters", error.ToString());
    }
}
