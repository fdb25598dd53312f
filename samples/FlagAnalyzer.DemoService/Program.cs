using FlagAnalyzer.DemoService;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

// A sample service for the guarded-rollout demo: it evaluates a flag over OFREP for each synthetic request and exports
// the request spans, marked with feature_flag.evaluation events, to FlagAnalyzer's OTLP intake (see DemoOptions).
var builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<DemoOptions>(builder.Configuration.GetSection("Demo"));
var demo = builder.Configuration.GetSection("Demo").Get<DemoOptions>() ?? new DemoOptions();

builder.Services.AddHttpClient<FlagAnalyzerClient>(c =>
{
    c.BaseAddress = new Uri(demo.ApiUrl);
    c.Timeout = TimeSpan.FromSeconds(10);
});

builder.Services.AddOpenTelemetry()
    .ConfigureResource(r => r.AddService("demo-checkout"))
    .WithTracing(t => t
        .AddSource(SyntheticTraffic.Source.Name)
        .AddOtlpExporter(o =>
        {
            // the API's own intake, not the Aspire dashboard's collector: http/protobuf is the .NET exporter's http default
            o.Endpoint = new Uri(new Uri(demo.ApiUrl), "/v1/traces");
            o.Protocol = OtlpExportProtocol.HttpProtobuf;
            if (!string.IsNullOrEmpty(demo.IngestKey)) o.Headers = $"Authorization=Bearer {demo.IngestKey}";
        }));

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddHostedService<SyntheticTraffic>();
builder.Build().Run();
