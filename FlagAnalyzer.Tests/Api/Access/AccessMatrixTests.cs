using System.Net;
using System.Text;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>
/// One app with a key of every role (sdk and the wrong-environment key scoped to <c>staging</c>) and a revoked key,
/// and the list of every endpoint the app maps joined with its row in <see cref="EndpointRules"/>.
/// </summary>
public sealed class AccessMatrixFixture : IAsyncLifetime
{
    public ApiFactory App { get; } = new()
    {
        // a UI build of its own: without one /ui answers 503 by design, which the matrix (5xx fails a row) must not see
        Settings = { ["Auth:FailedAttemptLimit"] = "100000", ["Auth:WriteBurst"] = "100000", ["Ui:Root"] = UiRoot() },
    };

    private static string UiRoot()
    {
        var root = Directory.CreateTempSubdirectory("access-matrix-ui-").FullName;
        var build = Directory.CreateDirectory(Path.Combine(root, FlagAnalyzer.Api.Ui.UiExtensions.BuildFolder)).FullName;
        File.WriteAllText(Path.Combine(build, "index.html"), "<!doctype html><title>matrix</title>");
        return root;
    }
    public Dictionary<string, string> Keys { get; } = new();
    public List<(string Method, string Pattern, EndpointRule Rule)> Endpoints { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var admin = App.CreateClient();
        foreach (var role in ApiRoles.All.Select(r => r.ToWire()))
            Keys[role] = (await admin.CreateKeyAsync(role, role == "sdk" ? "production" : null)).Secret;
        var revoked = await admin.CreateKeyAsync("admin", name: "revoked admin");
        await admin.RevokeAsync(revoked.Id);
        Keys["revoked"] = revoked.Secret;
        Endpoints = AccessHarness.MappedEndpoints(App.Services).Select(e => (e.Method, e.Pattern, EndpointRules.Find(e.Method, e.Pattern)!)).ToList();
    }

    /// <summary>A key of a role the rule allows (the weakest), scoped to another environment than the request names.</summary>
    public async Task<string> ScopedKeyAsync(EndpointRule rule)
    {
        var role = rule.Public ? "viewer" : new[] { ApiRole.Viewer, ApiRole.Ingest, ApiRole.Sdk, ApiRole.Editor, ApiRole.Admin }.First(rule.Allows).ToWire();
        var name = $"{role}@staging";
        if (!Keys.TryGetValue(name, out var secret))
            Keys[name] = secret = (await App.CreateClient().CreateKeyAsync(role, "staging")).Secret;
        return secret;
    }

    public Task DisposeAsync()
    {
        App.Dispose();
        Directory.Delete(App.Settings["Ui:Root"]!, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Issue 11's matrix: every endpoint × {no key, bad key, revoked key, each role, wrong environment}, generated
/// from the endpoints the app maps and their rows in Access/EndpointRules.cs. "Allowed" means neither 401 nor 403
/// nor a 5xx (the handler may still answer 400 or 404 to the made-up ids, but a server error fails the row).
/// </summary>
public sealed class AccessMatrixTests(AccessMatrixFixture f) : IClassFixture<AccessMatrixFixture>
{
    public static TheoryData<string> Callers => new() { "none", "bad", "revoked", "admin", "editor", "viewer", "sdk", "ingest", "wrong-environment" };

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task EveryEndpoint_AnswersAsItsRuleSays(string caller)
    {
        var failures = new List<string>();
        foreach (var (method, pattern, rule) in f.Endpoints)
        {
            string? key = caller switch
            {
                "none" => null,
                "bad" => "fa_abcdefgh_" + new string('x', 43),
                "wrong-environment" => await f.ScopedKeyAsync(rule),
                _ => f.Keys[caller],
            };
            var url = AccessHarness.Url(pattern) + (caller == "wrong-environment" ? "?environment=production" : "");
            var status = await SendAsync(method, url, key);

            // no caller here holds a stream credential, and a key in a header is not one
            var expected = rule.UrlCredential ? "401"
                : rule.Public ? "allowed"
                : caller is "none" or "bad" or "revoked" ? "401"
                : caller == "wrong-environment" ? "403"
                : rule.Allows(Enum.Parse<ApiRole>(caller, ignoreCase: true)) ? "allowed" : "403";
            // a 5xx is never "allowed": the handler failed, which says nothing about whether access control let the call through
            var ok = expected == "allowed" ? status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)status < 500
                : ((int)status).ToString() == expected;
            if (!ok) failures.Add($"{method} {pattern}: expected {expected}, got {(int)status}");
        }
        Assert.True(f.Endpoints.Count > 20);
        Assert.True(failures.Count == 0, $"caller '{caller}':\n" + string.Join("\n", failures));
    }

    private async Task<HttpStatusCode> SendAsync(string method, string url, string? key)
    {
        using var client = f.App.CreateClient().WithKey(key);
        using var request = new HttpRequestMessage(new HttpMethod(method == EndpointRules.AnyMethod ? "GET" : method), url);
        if (method is "POST" or "PATCH" or "PUT") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
