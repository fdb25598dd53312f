using System.Net;
using FlagAnalyzer.Api;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>
/// The real API on a real Kestrel loopback port (a browser cannot reach TestServer), on a fresh temp SQLite
/// file, serving the UI's production build at /ui.
/// </summary>
public sealed class UiServer : WebApplicationFactory<ApiMarker>
{
    public UiServer()
    {
        DatabasePath = Path.Combine(FlagAnalyzer.Tests.Api.TempDatabases.Folder, $"browser-{Guid.NewGuid():N}.db");
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.Replace("[::]", "127.0.0.1"));
        Api = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) }.WithAdminKey();
    }

    public string DatabasePath { get; }

    public Uri BaseUrl { get; }

    /// <summary>Plain HTTP to the same server, for setting up data and checking what the UI did.</summary>
    public HttpClient Api { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:flagdb", $"Data Source={DatabasePath}");
        builder.UseSetting(TestKeys.Setting, TestKeys.Admin);
    }

    protected override void Dispose(bool disposing)
    {
        Api.Dispose();
        base.Dispose(disposing);
        TestDatabase.ClearPool(DatabasePath); // only this server's: other tests run in parallel
        try { File.Delete(DatabasePath); } catch (IOException) { }
    }
}
