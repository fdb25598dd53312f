using FlagAnalyzer.Api.Extensions;
using FlagAnalyzer.Api.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
// the shared Redis connection is created before anything that uses it, so the container, which disposes in reverse
// order of creation, disposes it last: SignalR's backplane still unsubscribes on it while the app stops
RedisConnection.CreateFirst(app.Services);

await app.MigrateDatabaseAsync();
// flags stored before configurations per environment (issue 26) get theirs before anything reads them
await app.Services.GetRequiredService<FlagAnalyzer.Api.Flags.FlagConfigurationBackfill>().RunAsync();
app.MapApplicationEndpoints();

app.Run();


