using System.Data.Common;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Environments;

/// <summary>SQL for <c>environments</c>, the one place that knows its columns.</summary>
internal static class EnvironmentStore
{
    private const string Columns = "name, color, position, retired, created_at, updated_at, protected, approval_exemptions";

    private sealed class Row
    {
        public string Name { get; set; } = "";
        public string Color { get; set; } = "";
        public long Position { get; set; }
        public bool Retired { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
        public bool Protected { get; set; }
        public string? ApprovalExemptions { get; set; }

        public EnvironmentResource ToResource() => new(Name, Color, (int)Position, Retired, Time.FromMs(CreatedAt), Time.FromMs(UpdatedAt))
        {
            Protected = Protected,
            ApprovalExemptions = ApprovalExemptions is null ? EnvironmentRules.SafetyActions : Json.Deserialize<List<string>>(ApprovalExemptions) ?? [],
        };
    }

    /// <summary>Every environment in promotion order (ties, which only a hand-edited table has, by name).</summary>
    public static async Task<List<EnvironmentResource>> ListAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct) =>
        (await conn.ListAsync<Row>(tx, $"SELECT {Columns} FROM environments ORDER BY position, name", null, ct)).ConvertAll(r => r.ToResource());

    public static async Task<EnvironmentResource?> GetAsync(DbConnection conn, DbTransaction? tx, string name, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<Row>(tx, $"SELECT {Columns} FROM environments WHERE name = @name", new { name }, ct))?.ToResource();

    /// <summary>
    /// Adds <paramref name="name"/> last in the order; false when it already exists (nothing changed). ON CONFLICT rather
    /// than a check first: two writers registering the same name must not fail a flag write with a unique violation.
    /// (SQLite needs the WHERE to read ON CONFLICT as the upsert clause, not a join constraint.)
    /// </summary>
    public static async Task<bool> TryAddAsync(DbConnection conn, DbTransaction tx, string name, string color, DateTimeOffset now, CancellationToken ct) =>
        await conn.ExecAsync(tx, """
            INSERT INTO environments(name, color, position, created_at, updated_at)
            SELECT @name, @color, COALESCE(MAX(position) + 1, 0), @now, @now FROM environments WHERE true
            ON CONFLICT (name) DO NOTHING
            """, new { name, color, now = Time.ToMs(now) }, ct) == 1;

    public static Task UpdateAsync(WriteScope s, EnvironmentResource e, CancellationToken ct) =>
        s.ExecAsync("""
            UPDATE environments SET color = @Color, position = @Position, retired = @Retired, updated_at = @updatedAt,
                protected = @Protected, approval_exemptions = @exemptions WHERE name = @Name
            """, new { e.Color, e.Position, e.Retired, e.Name, updatedAt = Time.ToMs(e.UpdatedAt), e.Protected, exemptions = Json.Serialize(e.ApprovalExemptions) }, ct);
}
