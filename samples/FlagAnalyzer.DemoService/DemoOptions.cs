namespace FlagAnalyzer.DemoService;

/// <summary>Configuration section <c>Demo</c> (the AppHost sets <c>Demo__ApiUrl</c> from the api resource).</summary>
public sealed class DemoOptions
{
    public string ApiUrl { get; set; } = "http://localhost:5080";
    /// <summary>The flag the demo rolls out; created with a short plan when missing.</summary>
    public string FlagKey { get; set; } = "demo-checkout";
    /// <summary>An SDK key for OFREP and an editor key for the set-up calls, once access control lands (Bearer).</summary>
    public string? SdkKey { get; set; }
    public string? EditorKey { get; set; }
    public string? IngestKey { get; set; }
    public int RequestsPerSecond { get; set; } = 40;
    public double BaseErrorRate { get; set; } = 0.01;
    /// <summary>After this long the "on" variant starts failing <see cref="BadErrorFactor"/> × as often (a latent bug).</summary>
    public TimeSpan RegressAfter { get; set; } = TimeSpan.FromMinutes(3);
    public double BadErrorFactor { get; set; } = 4;
}
