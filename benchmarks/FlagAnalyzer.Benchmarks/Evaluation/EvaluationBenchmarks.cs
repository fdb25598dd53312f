using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FlagAnalyzer.Api.Evaluation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;

namespace FlagAnalyzer.Benchmarks.Evaluation;

/// <summary>
/// In-process evaluation of one flag with a targeting rule (a group gets it) and a 20 % split for everyone else:
/// our compiled flagd targeting against Microsoft.FeatureManagement 4.7's targeting filter on the equivalent
/// flag (Audience: group "beta" at 100 %, default rollout 20 %), same run. Plus the static path (a plain on/off flag).
/// <c>dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- --filter '*EvaluationBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class EvaluationBenchmarks
{
    private CompiledFlag _targeted = null!;
    private CompiledFlag _static = null!;
    private EvaluationContext _user = null!;
    private IFeatureManager _featureManager = null!;
    private TargetingContext _msUser = null!;
    private readonly FlagEvaluator _evaluator = FlagEvaluator.System;

    [GlobalSetup]
    public void Setup()
    {
        _targeted = FlagCompiler.Compile(new FlagDefinition
        {
            Key = "new-checkout",
            Enabled = true,
            Targeting = JsonDocument.Parse("""
                {"if": [{"in": ["beta", {"var": "groups"}]}, "on", {"fractional": [["on", 20], ["off", 80]]}]}
                """).RootElement,
        });
        _static = FlagCompiler.Compile(new FlagDefinition { Key = "plain", Enabled = true });
        _user = EvaluationContext.FromJson(JsonDocument.Parse("""{"targetingKey": "user-123", "groups": ["free"]}""").RootElement);

        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["feature_management:feature_flags:0:id"] = "new-checkout",
            ["feature_management:feature_flags:0:enabled"] = "true",
            ["feature_management:feature_flags:0:conditions:client_filters:0:name"] = "Microsoft.Targeting",
            ["feature_management:feature_flags:0:conditions:client_filters:0:parameters:Audience:Groups:0:Name"] = "beta",
            ["feature_management:feature_flags:0:conditions:client_filters:0:parameters:Audience:Groups:0:RolloutPercentage"] = "100",
            ["feature_management:feature_flags:0:conditions:client_filters:0:parameters:Audience:DefaultRolloutPercentage"] = "20",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(config).AddLogging();
        services.AddFeatureManagement();
        _featureManager = services.BuildServiceProvider().GetRequiredService<IFeatureManager>();
        _msUser = new TargetingContext { UserId = "user-123", Groups = ["free"] };

        // the two must agree on what they are asked, or the comparison means nothing
        if (_evaluator.Evaluate(_targeted, _user).Reason != EvaluationReason.TargetingMatch)
            throw new InvalidOperationException("the targeted flag did not go through its split");
        _ = _featureManager.IsEnabledAsync("new-checkout", _msUser).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "FeatureManagement 4.7 targeting filter")]
    public bool FeatureManagementTargeting() => _featureManager.IsEnabledAsync("new-checkout", _msUser).GetAwaiter().GetResult();

    [Benchmark(Description = "flagd targeting + fractional (ours)")]
    public string? TargetedSplit() => _evaluator.Evaluate(_targeted, _user).Variant;

    [Benchmark(Description = "static flag (ours)")]
    public string? Static() => _evaluator.Evaluate(_static, _user).Variant;
}
