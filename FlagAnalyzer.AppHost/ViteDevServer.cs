namespace FlagAnalyzer.AppHost;

public static class ViteDevServerExtensions
{
    /// <summary>
    /// The Vite dev server through <c>npm run dev</c>: its port comes from Aspire in <c>PORT</c>, and
    /// <c>API_URL</c> tells its proxy (<c>/api</c>, <c>/hubs</c>, <c>/ws</c>) where the API listens.
    /// When <c>node_modules</c> is missing, a <c>NAME-install</c> step runs first.
    /// </summary>
    public static IResourceBuilder<ExecutableResource> AddViteDevServer(this IDistributedApplicationBuilder builder, string name,
        string directory, IResourceBuilder<ProjectResource> api)
    {
        var web = builder.AddExecutable(name, "npm", directory, "run", "dev")
            .WithHttpEndpoint(env: "PORT")
            .WithEnvironment("API_URL", api.GetEndpoint("http"))
            .WithReference(api)
            .WithExternalHttpEndpoints();

        if (!Directory.Exists(Path.Combine(directory, "node_modules")))
        {
            string[] install = File.Exists(Path.Combine(directory, "package-lock.json")) ? ["ci"] : ["install"];
            web.WaitForCompletion(builder.AddExecutable($"{name}-install", "npm", directory, install));
        }
        return web;
    }
}
