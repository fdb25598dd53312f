var builder = DistributedApplication.CreateBuilder(args);

var api = builder.AddProject<Projects.FlagAnalyzer_Api>("api")
    .WithHttpHealthCheck("/health");

builder.Build().Run();
