using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Interop.Ofrep;

/// <summary>
/// The real npm packages <c>@openfeature/server-sdk</c> 1.23.0 and <c>@openfeature/ofrep-provider</c> 0.1.3, in
/// Node, against the API on Kestrel (127.0.0.1, dynamic port). The packages come from this folder's committed
/// lockfile through <c>npm ci</c>, run once per test run; nothing else is downloaded.
/// </summary>
public sealed class OfrepInteropTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Folder = Path.Combine(RepoPaths.Root, "FlagAnalyzer.Tests", "Interop", "Ofrep");

    private readonly ApiFactory _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<HttpClient> StartAsync()
    {
        _app.UseKestrel(0);
        _app.StartServer();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var http = new HttpClient { BaseAddress = new Uri(address) }.WithAdminKey();
        async Task Create(string json)
        {
            var r = await http.PostAsync("/api/flags", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        }
        await Create("""{"name":"interop-bool","key":"interopBool","enabled":true,"rolloutPercentage":100}""");
        await Create("""
            {"name":"header-color","key":"headerColor","enabled":true,"rolloutPercentage":100,
             "variants":{"red":"#FF0000","blue":"#0000FF","green":"#00FF00","yellow":"#FFFF00"},"defaultVariant":"red","offVariant":"red",
             "targeting":{"if":[{"in":["@faas.com",{"var":["email"]}]},{"fractional":[{"cat":[{"var":"$flagd.flagKey"},{"var":"email"}]},["red",25],["blue",25],["green",25],["yellow",25]]},null]}}
            """);
        await Create("""{"name":"interop.number","enabled":true,"rolloutPercentage":100,"variants":{"small":7,"large":42},"defaultVariant":"large","offVariant":"small"}""");
        await Create("""{"name":"interop_object","enabled":true,"rolloutPercentage":100,"variants":{"a":{"size":3,"label":"A"},"b":{"size":0}},"defaultVariant":"a","offVariant":"b"}""");
        await Create("""{"name":"interop-split","enabled":true,"rolloutPercentage":50}""");
        await Create("""
            {"name":"interop-plan","enabled":true,"rolloutPercentage":100,"variants":{"basic":"basic","premium":"premium"},"defaultVariant":"basic","offVariant":"basic",
             "targeting":{"if":[{"==":[{"var":"plan"},"pro"]},"premium"]}}
            """);
        return http;
    }

    [Fact]
    public async Task JsServerSdk_WithOfrepProvider_EvaluatesEveryKindOfFlag()
    {
        await ChildProcess.NpmCiOnceAsync(Folder);
        using var http = await StartAsync();

        var (exit, stdout, stderr) = await ChildProcess.RunAsync("node", ["interop.mjs"], Folder, TimeSpan.FromMinutes(1),
            new Dictionary<string, string>
            {
                ["FLAGANALYZER_URL"] = http.BaseAddress!.ToString().TrimEnd('/'),
                // the SDK evaluates with what an application is given: an sdk key for its environment
                ["FLAGANALYZER_SDK_KEY"] = (await http.CreateKeyAsync("sdk", "development", "interop-sdk")).Secret,
                ["FLAGANALYZER_ADMIN_KEY"] = TestKeys.Admin,
            });
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(exit == 0, $"node exited {exit}:\n{stdout}\n{stderr}");

        var r = JsonDocument.Parse(stdout.Trim().Split('\n').Last()).RootElement;
        string? S(string scenario, string field) => r.GetProperty(scenario).TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        Assert.True(r.GetProperty("boolean").GetProperty("value").GetBoolean());
        Assert.Equal(("on", "STATIC"), (S("boolean", "variant"), S("boolean", "reason")));

        Assert.Equal(("#0000FF", "blue", "TARGETING_MATCH"), (S("string", "value"), S("string", "variant"), S("string", "reason")));

        Assert.Equal(42, r.GetProperty("number").GetProperty("value").GetDouble());

        Assert.Equal(3, r.GetProperty("object").GetProperty("value").GetProperty("size").GetInt32());
        Assert.Equal("a", S("object", "variant"));

        // deterministic: murmur3 of flag key + targeting key into 10,000 buckets, flagd's bucketing (pinned against flagd's
        // published vectors in the unit tests): user-1 is in or out of the 50 % for good
        var inSplit = Bucketing.InRollout("interop-split", "user-1", Bucketing.RolloutThreshold(50));
        Assert.Equal(("SPLIT", inSplit ? "on" : "off", inSplit), (S("split", "reason"), S("split", "variant"), r.GetProperty("split").GetProperty("value").GetBoolean()));

        Assert.Equal(("premium", "TARGETING_MATCH"), (S("targeting", "value"), S("targeting", "reason")));

        Assert.Equal(("FLAG_NOT_FOUND", "ERROR"), (S("notFound", "errorCode"), S("notFound", "reason")));
        Assert.False(r.GetProperty("notFound").GetProperty("value").GetBoolean());

        Assert.False(r.GetProperty("afterChange").GetProperty("value").GetBoolean());
        Assert.Equal(("off", "DISABLED"), (S("afterChange", "variant"), S("afterChange", "reason")));
    }

    /// <summary>
    /// Issue 26 item 7: a staging and a production sdk key, each with its own OFREP provider in the same SDK, evaluate the
    /// same key to their environment's configuration; a promotion staging → production is what the production SDK gets next.
    /// </summary>
    [Fact]
    public async Task JsServerSdk_TwoEnvironmentKeys_EvaluateTheSameKeyToEachEnvironmentsValue_AndSeeAPromotion()
    {
        await ChildProcess.NpmCiOnceAsync(Folder);
        _app.UseKestrel(0);
        _app.StartServer();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) }.WithAdminKey();
        var created = await http.PostAsync("/api/flags", new StringContent("""
            {"name":"checkout-theme","key":"checkoutTheme","targetEnvironment":"production","enabled":true,"rolloutPercentage":100,
             "variants":{"classic":"classic","bold":"bold","plain":"plain"},"defaultVariant":"classic","offVariant":"plain"}
            """, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var staged = await http.PatchAsync("/api/flags/checkout-theme/environments/staging", new StringContent(
            """{"enabled":true,"rolloutPercentage":100,"defaultVariant":"bold"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(staged.IsSuccessStatusCode, await staged.Content.ReadAsStringAsync());

        var (exit, stdout, stderr) = await ChildProcess.RunAsync("node", ["interop-environments.mjs"], Folder, TimeSpan.FromMinutes(1),
            new Dictionary<string, string>
            {
                ["FLAGANALYZER_URL"] = http.BaseAddress!.ToString().TrimEnd('/'),
                ["FLAGANALYZER_STAGING_KEY"] = (await http.CreateKeyAsync("sdk", "staging", "interop-staging")).Secret,
                ["FLAGANALYZER_PRODUCTION_KEY"] = (await http.CreateKeyAsync("sdk", "production", "interop-production")).Secret,
                ["FLAGANALYZER_ADMIN_KEY"] = TestKeys.Admin,
            });
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(exit == 0, $"node exited {exit}:\n{stdout}\n{stderr}");

        var r = JsonDocument.Parse(stdout.Trim().Split('\n').Last()).RootElement;
        (string?, string?) Of(string scenario) => (r.GetProperty(scenario).GetProperty("value").GetString(), r.GetProperty(scenario).GetProperty("reason").GetString());
        Assert.Equal(("bold", "STATIC"), Of("staging"));
        Assert.Equal(("classic", "STATIC"), Of("production"));
        Assert.Equal(("bold", "STATIC"), Of("productionAfterPromotion"));
        Assert.Equal(("bold", "STATIC"), Of("stagingAfterPromotion"));
    }
}
