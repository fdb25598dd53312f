namespace FlagAnalyzer.Tests.Api.Anomalies;

/// <summary>With control and treatment cohorts the control is the baseline, and the split must match the rollout.</summary>
public sealed class CohortApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly AnalysisClient _api;

    public CohortApiTests() => _api = new AnalysisClient(_app.CreateClient());

    public void Dispose() => _app.Dispose();

    private async Task<bool> EnabledAsync(string id) =>
        (await (await _api.Http.GetAsync($"/api/flags/{id}")).ReadJson()).GetProperty("enabled").GetBoolean();

    [Fact]
    public async Task TreatmentWorseThanControl_AtTheRolloutSplit_IsRolledBack()
    {
        var id = await _api.CreateFlagAsync("cohort-split-ok", autoRollback: true);
        await _api.RollOutAsync(id, 10);

        // 10 % of the requests in treatment, as the rollout promises; treatment errors 3× control
        var body = await _api.SendCohortsAsync(id, 5, control: (1, 9000), treatment: (3, 1000));

        var anomaly = Assert.Single(body.GetProperty("anomalies").EnumerateArray());
        Assert.Contains("treatment vs control", anomaly.GetProperty("message").GetString());
        Assert.False(await EnabledAsync(id));
    }

    [Fact]
    public async Task CohortsSplitUnlikeTheRollout_StillRaiseButDoNotRollBack()
    {
        var id = await _api.CreateFlagAsync("cohort-split-bad", autoRollback: true);
        await _api.RollOutAsync(id, 10);

        // a 10 % rollout whose treatment gets half the requests: the comparison is suspect
        var body = await _api.SendCohortsAsync(id, 5, control: (1, 1000), treatment: (3, 1000));

        var anomaly = Assert.Single(body.GetProperty("anomalies").EnumerateArray());
        Assert.Contains("sample-ratio mismatch", anomaly.GetProperty("message").GetString());
        Assert.True(await EnabledAsync(id));
        var report = (await (await _api.Http.PostJson("/api/analyze", new { flagId = id })).ReadJson()).GetProperty("flags")[0];
        Assert.Equal("cohorts", report.GetProperty("mode").GetString());
        Assert.True(report.GetProperty("srm").GetProperty("mismatch").GetBoolean());
    }
}
