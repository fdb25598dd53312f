using System.Data.Common;
using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// Issue 26 item 6: a database the previous release wrote (every migration but 3, flags and their change log as that
/// release stored them) is upgraded when the app starts: each flag keeps its id, key and history, its home holds the
/// configuration it had, every other environment has it disabled. Compiled into FlagAnalyzer.Tests.Postgres too.
/// </summary>
public sealed class ConfigurationUpgradeTests
{
    [Fact]
    public async Task Upgrade_KeepsIdsKeysAndHistory_HomeHoldsTodaysConfiguration_OthersDisabled()
    {
        using var app = new ApiFactory();
        await using (var conn = await TestDatabase.OpenAsync(app.DatabasePath))
        {
            var provider = conn.Provider();
            await RunAsync(conn, provider == DbProvider.Postgres
                ? "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
                : "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
            foreach (var step in Migrations.All.Where(s => s.Version != 3).OrderBy(s => s.Version))
            {
                await RunAsync(conn, step.For(provider));
                await RunAsync(conn, $"INSERT INTO schema_migrations(version, name, applied_at) VALUES ({step.Version}, 'previous release', 0)");
            }
            // two flags as the previous release stored them: one with variants of its own, targeting and a partial rollout
            await RunAsync(conn, """
                INSERT INTO feature_flags(id, name, flag_key, description, enabled, rollout_percentage, target_environment, owner, tags, auto_rollback,
                                          variants, default_variant, off_variant, targeting, created_at, updated_at, version)
                VALUES ('flg_01JOLDCHECKOUT0000000000A', 'old-checkout', 'checkoutColor', 'checkout', TRUE, 40, 'staging', 'team', '["a"]', TRUE,
                        '{"blue":"#00f","red":"#f00","grey":"#888"}', 'blue', 'grey', '{"if":[{"==":[{"var":"plan"},"pro"]},"red",null]}',
                        1700000000000, 1700000001000, 3)
                """);
            await RunAsync(conn, """
                INSERT INTO feature_flags(id, name, flag_key, enabled, rollout_percentage, target_environment, created_at, updated_at, version)
                VALUES ('flg_01JOLDPLAIN0000000000000B', 'old-plain', 'old-plain', FALSE, 0, 'production', 1700000000000, 1700000000000, 1)
                """);
            var i = 0;
            foreach (var (type, name) in new[] { ("created", "old-checkout"), ("rollout_changed", "old-checkout"), ("created", "old-plain") })
            {
                i++;
                var id = name == "old-plain" ? "flg_01JOLDPLAIN0000000000000B" : "flg_01JOLDCHECKOUT0000000000A";
                var env = name == "old-plain" ? "production" : "staging";
                await RunAsync(conn, $"""
                    INSERT INTO flag_changes(id, flag_id, flag_name, change_type, previous_value, new_value, changed_by, environment, timestamp, revision)
                    VALUES ('chg_01JOLD00000000000000000{i}', '{id}', '{name}', '{type}', NULL, '{"{}"}', 'old-release', '{env}', {1700000000000 + i}, {i})
                    """);
            }
            await RunAsync(conn, "UPDATE feed_revision SET revision = 3 WHERE id = 1");
        }

        var admin = app.CreateClient();
        var flag = await (await admin.GetAsync("/api/flags/old-checkout")).ReadAs<JsonElement>();
        Assert.Equal("flg_01JOLDCHECKOUT0000000000A", flag.GetProperty("id").GetString());
        Assert.Equal("checkoutColor", flag.GetProperty("key").GetString());
        var history = (await (await admin.GetAsync("/api/flags/old-checkout/changes")).ReadAs<JsonElement>()).GetProperty("items");
        Assert.Equal(["chg_01JOLD000000000000000002", "chg_01JOLD000000000000000001"], history.EnumerateArray().Select(c => c.GetProperty("id").GetString()));

        var items = (await (await admin.GetAsync("/api/flags/old-checkout/environments")).ReadAs<JsonElement>()).GetProperty("items").EnumerateArray()
            .ToDictionary(c => c.GetProperty("environment").GetString()!);
        Assert.Equal(["development", "staging", "production"], items.Keys);
        var home = items["staging"];
        Assert.True(home.GetProperty("enabled").GetBoolean());
        Assert.Equal(40, home.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal("blue", home.GetProperty("defaultVariant").GetString());
        Assert.Equal("grey", home.GetProperty("offVariant").GetString());
        Assert.True(home.GetProperty("autoRollback").GetBoolean());
        Assert.Equal("red", home.GetProperty("targeting").GetProperty("if")[1].GetString());
        foreach (var other in new[] { items["development"], items["production"] })
        {
            Assert.False(other.GetProperty("enabled").GetBoolean());
            Assert.Equal(0, other.GetProperty("rolloutPercentage").GetDouble());
            Assert.Equal(JsonValueKind.Null, other.GetProperty("targeting").ValueKind);
            Assert.Equal("blue", other.GetProperty("defaultVariant").GetString());
            Assert.Equal("grey", other.GetProperty("offVariant").GetString());
        }
        Assert.Equal(3, (await (await admin.GetAsync("/api/flags/old-plain/environments")).ReadAs<JsonElement>()).GetProperty("items").GetArrayLength());

        // served per environment from the start, and the feed goes on after the release's last revision
        var staging = app.CreateClient().WithKey((await admin.CreateKeyAsync("sdk", "staging")).Secret);
        var production = app.CreateClient().WithKey((await admin.CreateKeyAsync("sdk", "production")).Secret);
        var pro = """{"context":{"targetingKey":"u1","plan":"pro"}}""";
        Assert.Equal("red", (await (await staging.PostRaw("/ofrep/v1/evaluate/flags/checkoutColor", pro)).ReadJson()).GetProperty("variant").GetString());
        var off = await (await production.PostRaw("/ofrep/v1/evaluate/flags/checkoutColor", pro)).ReadJson();
        Assert.Equal(("grey", "DISABLED"), (off.GetProperty("variant").GetString(), off.GetProperty("reason").GetString()));
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/flags/old-checkout/environments/production")
        {
            Content = new StringContent("""{"enabled":true,"rolloutPercentage":100}""", System.Text.Encoding.UTF8, "application/json"),
        };
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(patch)).StatusCode);
        var changes = (await (await admin.GetAsync("/api/flags/changes?afterRevision=3")).ReadAs<JsonElement>()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(4, changes.Single(c => c.GetProperty("environment").GetString() == "production" && c.GetProperty("flagName").GetString() == "old-checkout")
            .GetProperty("revision").GetInt64());
    }

    private static async Task RunAsync(DbConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }
}
