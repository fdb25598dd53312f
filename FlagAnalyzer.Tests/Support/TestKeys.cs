using System.Net.Http.Headers;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// The bootstrap admin key every test server starts with (<c>Auth:BootstrapAdminKey</c>), so the shared
/// clients authenticate and the tests written before access control keep their assertions.
/// </summary>
public static class TestKeys
{
    public const string Setting = "Auth:BootstrapAdminKey";
    public const string Admin = "test-bootstrap-admin-key-0123456789abcdefghijk";

    public static HttpClient WithAdminKey(this HttpClient client)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Admin);
        return client;
    }

    public static HttpClient WithoutKey(this HttpClient client)
    {
        client.DefaultRequestHeaders.Authorization = null;
        return client;
    }
}
