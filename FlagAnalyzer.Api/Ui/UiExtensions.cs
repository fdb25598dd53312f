using Microsoft.AspNetCore.StaticFiles;

namespace FlagAnalyzer.Api.Ui;

/// <summary>
/// Serves the web UI's production build (FlagAnalyzer.Web, built into <c>wwwroot/ui</c> by the project's
/// build) at <c>/ui</c>. Client routes (<c>/ui/flags/…</c>) get <c>index.html</c>, so a reload or a shared
/// link lands on the right page; a missing asset is a real 404, not the app shell.
/// </summary>
public static class UiExtensions
{
    public const string BasePath = "/ui";
    public const string BuildFolder = "wwwroot/ui";

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static WebApplication MapWebUi(this WebApplication app)
    {
        // Ui:Root names the one folder to serve from (a deployment's choice, or a test's); else next to the sources, then the binaries
        var root = app.Configuration["Ui:Root"] is { Length: > 0 } configured
            ? FindBuild(configured)
            : FindBuild(app.Environment.ContentRootPath, AppContext.BaseDirectory);
        if (root is null)
        {
            app.Logger.LogWarning("The web UI is not built ({Folder} has no index.html): /ui answers 503. Build FlagAnalyzer.Api (it runs npm) or run 'npm run build' in FlagAnalyzer.Web.", BuildFolder);
            app.MapGet(BasePath + "/{**path}", () => TypedResults.Content(NotBuiltPage, "text/html", statusCode: StatusCodes.Status503ServiceUnavailable))
                .ExcludeFromDescription();
            return app;
        }

        app.MapGet(BasePath + "/{**path}", (string? path, HttpContext http) => Serve(root, path, http)).ExcludeFromDescription();
        return app;
    }

    /// <summary>The first folder holding a build: next to the sources (dotnet run, tests), then next to the binaries (published).</summary>
    public static string? FindBuild(params string[] roots) =>
        roots.Select(r => Path.GetFullPath(Path.Combine(r, BuildFolder)))
             .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "index.html")));

    private static IResult Serve(string root, string? path, HttpContext http)
    {
        var relative = (path ?? "").TrimStart('/');
        if (relative.Length > 0)
        {
            var full = Path.GetFullPath(Path.Combine(root, relative));
            // never leave the build folder
            if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return TypedResults.NotFound();
            if (File.Exists(full))
            {
                // Vite puts a content hash in every asset name: they never change, so cache them for good
                if (relative.StartsWith("assets/", StringComparison.Ordinal))
                    http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
                return TypedResults.PhysicalFile(full, ContentTypes.TryGetContentType(full, out var type) ? type : "application/octet-stream",
                    enableRangeProcessing: true);
            }
            // a file name that is not there is a 404; anything else is a client route
            if (Path.HasExtension(relative)) return TypedResults.NotFound();
        }
        http.Response.Headers.CacheControl = "no-cache";
        return TypedResults.PhysicalFile(Path.Combine(root, "index.html"), "text/html; charset=utf-8");
    }

    private const string NotBuiltPage = """
        <!doctype html><html><head><meta charset="utf-8"><title>FlagAnalyzer UI not built</title></head>
        <body style="font-family:system-ui;margin:3rem"><h1>The web UI is not built</h1>
        <p>Build the API project (<code>dotnet build FlagAnalyzer.Api</code> runs <code>npm ci</code> and <code>npm run build</code>),
        or run <code>npm run build</code> in <code>FlagAnalyzer.Web</code>. The API itself works: see <a href="/">/</a>.</p></body></html>
        """;
}
