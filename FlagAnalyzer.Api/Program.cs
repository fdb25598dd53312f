using FlagAnalyzer.Api.Extensions;
using FlagAnalyzer.Api.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

await app.MigrateDatabaseAsync();
app.MapApplicationEndpoints();

app.Run();


