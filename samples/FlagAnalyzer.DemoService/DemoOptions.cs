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
    /// <summary>The plan's stages 10 → 25 → 50 %: each waits at least this long and for this many requests per cohort (then 100 %).</summary>
    public int StageSeconds { get; set; } = 60;
    public long StageMinRequests { get; set; } = 200;
    public double BaseErrorRate { get; set; } = 0.01;
    /// <summary>With <see cref="RegressFromPercent"/> unset (empty), the "on" variant starts failing after this long instead.</summary>
    public TimeSpan RegressAfter { get; set; } = TimeSpan.FromMinutes(3);
    /// <summary>
    /// The "on" variant starts failing <see cref="BadErrorFactor"/> × as often once the flag's rollout has reached this
    /// percentage (a bug that shows only under enough load); the demo reads the flag twice a second to know. The default,
    /// 25 %, lets the first stage pass on a real comparison and the guardian catch the bug at the second, before 50 %.
    /// </summary>
    public double? RegressFromPercent { get; set; } = 25;
    public double BadErrorFactor { get; set; } = 4;
    /// <summary>
    /// Seeds the synthetic users and failures; unset, every run draws new users. (A fixed seed replays the same users,
    /// and seed 42's first 3,000 fall 12 % into the 10 % bucket — a real sample-ratio mismatch that paused every run.)
    /// </summary>
    public int? Seed { get; set; }
}
