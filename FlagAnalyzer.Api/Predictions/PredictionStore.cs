using FlagAnalyzer.Api.Flags;
using System.Data.Common;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>SQL for <c>predictions</c>, the one place that knows its columns (<see cref="PredictionRow"/>).</summary>
public static class PredictionStore
{
    private const string Columns =
        "id, flag_id, change_id, risk_level, risk_score, error_rate_change, latency_change, user_impact, recommendations, confidence, reasoning, "
        + "evidence, source, created_at, updated_at, environment";

    private const string Values =
        "@Id, @FlagId, @ChangeId, @RiskLevel, @RiskScore, @ErrorRateChange, @LatencyChange, @UserImpact, @Recommendations, @Confidence, @Reasoning, "
        + "@Evidence, @Source, @CreatedAt, @UpdatedAt, @Environment";

    /// <summary>A <c>predictions</c> row as stored (JSON as text, times as Unix ms).</summary>
    private sealed class PredictionRow
    {
        public string Id { get; set; } = "";
        public string FlagId { get; set; } = "";
        public string Environment { get; set; } = "";
        public string? ChangeId { get; set; }
        public string RiskLevel { get; set; } = "";
        public double RiskScore { get; set; }
        public double ErrorRateChange { get; set; }
        public double LatencyChange { get; set; }
        public string UserImpact { get; set; } = "";
        public string Recommendations { get; set; } = "[]";
        public double Confidence { get; set; }
        public string Reasoning { get; set; } = "";
        public string Evidence { get; set; } = "{}";
        public string Source { get; set; } = "";
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }

        public static PredictionRow From(Prediction p) => new()
        {
            Id = p.Id, FlagId = p.FlagId, Environment = p.Environment, ChangeId = p.ChangeId, RiskLevel = p.RiskLevel.ToWire(), RiskScore = p.RiskScore,
            ErrorRateChange = p.PredictedImpact.ErrorRateChange, LatencyChange = p.PredictedImpact.LatencyChange,
            UserImpact = p.PredictedImpact.UserImpact.ToWire(), Recommendations = Json.Serialize(p.Recommendations), Confidence = p.Confidence,
            Reasoning = p.Reasoning, Evidence = p.Evidence.ToJsonString(), Source = p.Source,
            CreatedAt = Time.ToMs(p.CreatedAt), UpdatedAt = Time.ToMs(p.UpdatedAt),
        };

        /// <summary>Null when a closed-set column holds a word this build does not know (<see cref="StoredWords"/>).</summary>
        public Prediction? ToPrediction() =>
            !StoredWords.TryRead<RiskLevel>("predictions", "risk_level", Id, RiskLevel, out var level)
            || !StoredWords.TryRead<UserImpact>("predictions", "user_impact", Id, UserImpact, out var impact)
                ? null
                : new()
        {
            Id = Id, FlagId = FlagId, Environment = Environment, ChangeId = ChangeId, RiskLevel = level, RiskScore = RiskScore,
            PredictedImpact = WithIntervals(new PredictedImpact(ErrorRateChange, LatencyChange, impact), Evidence, Source),
            Recommendations = Json.Deserialize<List<string>>(Recommendations) ?? [], Confidence = Confidence, Reasoning = Reasoning,
            Evidence = JsonNode.Parse(Evidence) as JsonObject ?? [], Source = Source,
            CreatedAt = Time.FromMs(CreatedAt), UpdatedAt = Time.FromMs(UpdatedAt),
        };
    }

    public static Task InsertAsync(DbConnection conn, DbTransaction? tx, Prediction p, CancellationToken ct) =>
        conn.ExecAsync(tx, $"INSERT INTO predictions({Columns}) VALUES ({Values})", PredictionRow.From(p), ct);

    /// <summary>Replaces the verdict of a stored prediction (the LLM's refinement); ids and creation time stay.</summary>
    public static async Task<bool> UpdateAsync(DbConnection conn, DbTransaction? tx, Prediction p, CancellationToken ct) =>
        await conn.ExecAsync(tx, """
            UPDATE predictions SET risk_level = @RiskLevel, risk_score = @RiskScore, error_rate_change = @ErrorRateChange,
                latency_change = @LatencyChange, user_impact = @UserImpact, recommendations = @Recommendations, confidence = @Confidence,
                reasoning = @Reasoning, evidence = @Evidence, source = @Source, updated_at = @UpdatedAt
            WHERE id = @Id
            """, PredictionRow.From(p), ct) == 1;

    public static async Task<Prediction?> GetAsync(DbConnection conn, DbTransaction? tx, string id, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<PredictionRow>(tx, $"SELECT {Columns} FROM predictions WHERE id = @id", new { id }, ct))?.ToPrediction();

    /// <summary>
    /// Newest first; keyset on id (ids sort by creation time). <c>source=llm</c> means any model: a prefix test that
    /// reads the same on both stores (SQLite's LIKE ignores case, PostgreSQL's does not).
    /// </summary>
    /// <param name="scopeEnvironment">Only predictions of this environment (the caller's scope; a prediction is of its change's
    /// environment); null = all.</param>
    /// <param name="environment">The list filter <c>?environment=</c>; null = all.</param>
    public static async Task<List<Prediction>> ListAsync(DbConnection conn, string? flagId, RiskLevel? riskLevel, string? source,
        string? beforeId, int take, CancellationToken ct, string? scopeEnvironment = null, string? environment = null)
    {
        var rows = await conn.ListAsync<PredictionRow>(null, $"""
            SELECT {Columns} FROM predictions
            WHERE (@flagId IS NULL OR flag_id = @flagId)
              AND (@riskLevel IS NULL OR risk_level = @riskLevel)
              AND (@source IS NULL OR source = @source OR (@source = @llm AND substr(source, 1, length(@llmPrefix)) = @llmPrefix))
              AND (@before IS NULL OR id < @before)
              AND (@scopeEnvironment IS NULL OR environment = @scopeEnvironment) AND (@environment IS NULL OR environment = @environment)
            ORDER BY id DESC LIMIT @take
            """, new
            {
                flagId, riskLevel = riskLevel?.ToWire(), source, before = beforeId, take, scopeEnvironment, environment,
                llm = PredictionSources.LlmKind, llmPrefix = PredictionSources.LlmPrefix,
            }, ct);
        return rows.Known(r => r.ToPrediction());
    }

    // the intervals live in the evidence (no column of their own); they belong to the statistical estimate only
    private static PredictedImpact WithIntervals(PredictedImpact impact, string evidence, string source)
    {
        if (source != PredictionSources.Statistical || JsonNode.Parse(evidence) is not JsonObject e) return impact;
        static double[]? Pair(JsonNode? n) => n is JsonArray { Count: 2 } a ? [a[0]!.GetValue<double>(), a[1]!.GetValue<double>()] : null;
        return impact with { ErrorRateChangeInterval = Pair(e["errorRateChangeInterval"]), LatencyChangeInterval = Pair(e["latencyChangeInterval"]) };
    }
}
