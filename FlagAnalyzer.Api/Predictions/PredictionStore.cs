using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Predictions;

public static class PredictionStore
{
    private const string Columns =
        "id, flag_id, change_id, risk_level, risk_score, error_rate_change, latency_change, user_impact, recommendations, confidence, reasoning, evidence, source, created_at, updated_at";

    public static async Task InsertAsync(SqliteConnection conn, SqliteTransaction? tx, Prediction p, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"""
            INSERT INTO predictions({Columns})
            VALUES ($id, $flag, $change, $level, $score, $err, $lat, $impact, $recs, $conf, $reason, $evidence, $source, $created, $updated)
            """);
        Bind(cmd, p);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Replaces the verdict of a stored prediction (the LLM's refinement); ids and creation time stay.</summary>
    public static async Task<bool> UpdateAsync(SqliteConnection conn, SqliteTransaction? tx, Prediction p, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, """
            UPDATE predictions SET risk_level = $level, risk_score = $score, error_rate_change = $err, latency_change = $lat,
                user_impact = $impact, recommendations = $recs, confidence = $conf, reasoning = $reason, evidence = $evidence,
                source = $source, updated_at = $updated
            WHERE id = $id
            """);
        Bind(cmd, p);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static void Bind(SqliteCommand cmd, Prediction p) => cmd
        .With("$id", p.Id).With("$flag", p.FlagId).With("$change", p.ChangeId)
        .With("$level", p.RiskLevel).With("$score", p.RiskScore)
        .With("$err", p.PredictedImpact.ErrorRateChange).With("$lat", p.PredictedImpact.LatencyChange)
        .With("$impact", p.PredictedImpact.UserImpact)
        .With("$recs", Json.Serialize(p.Recommendations)).With("$conf", p.Confidence)
        .With("$reason", p.Reasoning).With("$evidence", p.Evidence.ToJsonString())
        .With("$source", p.Source).With("$created", Time.ToMs(p.CreatedAt)).With("$updated", Time.ToMs(p.UpdatedAt));

    public static async Task<Prediction?> GetAsync(SqliteConnection conn, SqliteTransaction? tx, string id, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"SELECT {Columns} FROM predictions WHERE id = $id").With("$id", id);
        return await cmd.FirstOrDefaultAsync(Read, ct);
    }

    /// <summary>Newest first; keyset on id (ids sort by creation time).</summary>
    public static async Task<List<Prediction>> ListAsync(SqliteConnection conn, string? flagId, string? riskLevel, string? source,
        string? beforeId, int take, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"""
            SELECT {Columns} FROM predictions
            WHERE ($flag IS NULL OR flag_id = $flag)
              AND ($level IS NULL OR risk_level = $level)
              AND ($source IS NULL OR source = $source OR ($source = $llm AND source LIKE $llmSources))
              AND ($before IS NULL OR id < $before)
            ORDER BY id DESC LIMIT $take
            """).With("$flag", flagId).With("$level", riskLevel).With("$source", source).With("$before", beforeId).With("$take", take)
            .With("$llm", PredictionSources.LlmKind).With("$llmSources", PredictionSources.LlmPrefix + "%");
        return await cmd.ListAsync(Read, ct);
    }

    public static Prediction Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        FlagId = r.GetString(1),
        ChangeId = r.StringOrNull(2),
        RiskLevel = r.GetString(3),
        RiskScore = r.GetDouble(4),
        PredictedImpact = WithIntervals(new PredictedImpact(r.GetDouble(5), r.GetDouble(6), r.GetString(7)), r.GetString(11), r.GetString(12)),
        Recommendations = Json.Deserialize<List<string>>(r.GetString(8)) ?? [],
        Confidence = r.GetDouble(9),
        Reasoning = r.GetString(10),
        Evidence = JsonNode.Parse(r.GetString(11)) as JsonObject ?? [],
        Source = r.GetString(12),
        CreatedAt = Time.FromMs(r.GetInt64(13)),
        UpdatedAt = Time.FromMs(r.GetInt64(14)),
    };

    // the intervals live in the evidence (no column of their own); they belong to the statistical estimate only
    private static PredictedImpact WithIntervals(PredictedImpact impact, string evidence, string source)
    {
        if (source != PredictionSources.Statistical || JsonNode.Parse(evidence) is not JsonObject e) return impact;
        static double[]? Pair(JsonNode? n) => n is JsonArray { Count: 2 } a ? [a[0]!.GetValue<double>(), a[1]!.GetValue<double>()] : null;
        return impact with { ErrorRateChangeInterval = Pair(e["errorRateChangeInterval"]), LatencyChangeInterval = Pair(e["latencyChangeInterval"]) };
    }
}
