using FlagAnalyzer.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// what this machine can run (container engine, redis-server, the web folder); see StackChoices for the overrides
var stack = new StackChoices(builder, "../FlagAnalyzer.Web");

IResourceBuilder<IResourceWithConnectionString>? cache = stack.Cache switch
{
    CacheChoice.Container => builder.AddRedis("cache"),
    CacheChoice.RedisServer => builder.AddRedisServer("cache"),
    _ => null,
};

IResourceBuilder<IResourceWithConnectionString>? llm = stack.Llm switch
{
    LlmChoice.Container => builder.AddOllama("llm", builder.AddParameter("llm-model", "llama3.3")),
    // ConnectionStrings:llm in the AppHost's configuration, e.g. Endpoint=http://gpu-box:11434;Model=llama3.3
    LlmChoice.External => builder.AddConnectionString("llm"),
    _ => null,
};

IResourceBuilder<IResourceWithConnectionString>? flagdb = stack.Db switch
{
    // the data kept in a volume across runs, as the SQLite file is
    DbChoice.PostgresContainer => builder.AddPostgres("postgres").WithDataVolume("flaganalyzer-postgres").AddDatabase("flagdb"),
    DbChoice.PostgresServer => builder.AddPostgresProcess("postgres", "flagdb", stack.PostgresBinaries!, stack.PostgresData),
    _ => null, // SQLite: the API's own file (its default data/flags.db)
};

// the first admin key: generated on the first run and kept in this project's user secrets (Parameters:admin-key),
// shown in the dashboard's parameters; the API creates its first admin key from it
var adminKey = builder.AddParameter("admin-key", new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);
// the key webhook secrets are encrypted with at rest: generated once, kept like the admin key, shared by every replica
var webhookKey = builder.AddParameter("webhook-secret-key", new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);

var api = builder.AddProject<Projects.FlagAnalyzer_Api>("api")
    .WithEnvironment("Auth__BootstrapAdminKey", adminKey)
    .WithEnvironment("Webhooks__SecretKey", webhookKey)
    // local development: webhooks may post to receivers on this machine (refused by default, SSRF)
    .WithEnvironment("Webhooks__AllowPrivateTargets", "true")
    .WithHttpHealthCheck("/health")
    .OnResourceReady(Announce.ApiHealthy);
// every replica gets the same flagdb and cache; the API runs its migrations under a lock, so replicas may start together
if (stack.ApiReplicas > 1) api.WithReplicas(stack.ApiReplicas);
if (flagdb is not null) api.WithReference(flagdb, "flagdb").WaitFor(flagdb);
if (cache is not null) api.WithReference(cache).WaitFor(cache);
if (llm is not null) api.WithReference(llm).WaitFor(llm);

if (stack.Web)
{
    var web = builder.AddViteDevServer("web", stack.WebDirectory, api);
    // the browser's Origin is the dev server's, and its proxy forwards /hubs and /ws: the API must allow that origin
    api.WithEnvironment("Cors__AllowedOrigins__0", web.GetEndpoint("http"));
}

// --Parameters:demo=true adds a sample service whose flag the guardian rolls out, then rolls back (README, "Demo")
if (bool.TryParse(builder.Configuration["Parameters:demo"], out var demo) && demo)
{
    // a sample a minute (the default) gives a one-minute stage one comparison point per cohort; the guardian advances only
    // on a comparison (three samples per cohort at the stage), so the demo's telemetry closes an interval every 10 s
    api.WithEnvironment("Telemetry__SampleInterval", "00:00:10");
    builder.AddProject<Projects.FlagAnalyzer_DemoService>("demo-service")
        .WithEnvironment("Demo__ApiUrl", api.GetEndpoint("http"))
        // a demo on the developer's own stack: the admin key serves as its editor, sdk and ingest key
        .WithEnvironment("Demo__EditorKey", adminKey)
        .WithEnvironment("Demo__SdkKey", adminKey)
        .WithEnvironment("Demo__IngestKey", adminKey)
        .WaitFor(api);
}

builder.Build().Run();
