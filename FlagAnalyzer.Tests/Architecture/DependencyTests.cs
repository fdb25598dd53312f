using System.Text.RegularExpressions;
using FlagAnalyzer.Api;
using FlagAnalyzer.Tests.Web;
using NetArchTest.Rules;

namespace FlagAnalyzer.Tests.Architecture;

/// <summary>
/// The API's folders (namespaces <c>FlagAnalyzer.Api.&lt;Folder&gt;</c>) depend one way: a folder may use only folders
/// of a lower rank (README, Layout). Adding a folder is one line in <see cref="Ranks"/>. The rules read the compiled
/// IL, so a <c>const</c> from another folder (inlined by the compiler) is not seen; everything else is.
/// </summary>
public sealed class DependencyTests
{
    private const string Root = "FlagAnalyzer.Api";

    /// <summary>
    /// Lower ranks never reference higher ones, nor folders of their own rank. Folders not written yet are listed so
    /// their code is checked the day it arrives.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> Ranks = new Dictionary<string, int>
    {
        ["Common"] = 0,
        ["Statistics"] = 1, // pure: see Statistics_DoesNoIo
        ["Storage"] = 2,
        ["Environments"] = 3, // beside Flags: Flags asks it through Common.IEnvironmentRegistry
        ["Flags"] = 3,
        ["Metrics"] = 3,
        ["Access"] = 3,
        ["ChangeRequests"] = 4, // above Flags (it implements Flags.IChangeGate and applies through FlagService) and Environments
        ["Evaluation"] = 4,
        ["Telemetry"] = 4,
        ["Anomalies"] = 5,
        ["Predictions"] = 5,
        ["Rollouts"] = 5,
        ["Llm"] = 6,
        ["Webhooks"] = 6, // above Flags (the feed) and Rollouts/Anomalies (their live events, read as JSON)
        ["Assistant"] = 7,
        ["Live"] = 8,
        ["Ui"] = 8,
        ["Extensions"] = 9, // the composition root, with Program
    };

    /// <summary>What the pure statistics must not touch: files, databases, caches, HTTP, the network.</summary>
    public static readonly string[] Io =
        ["System.IO", "Microsoft.Data.Sqlite", "Npgsql", "System.Data.Common", "Dapper", "StackExchange.Redis", "Microsoft.AspNetCore", "System.Net"];

    private static readonly Types Api = Types.InAssembly(typeof(ApiMarker).Assembly);

    private static string Ns(string folder) => $"{Root}.{folder}";

    /// <summary>The folder of a type's namespace (<c>Live.Ws</c> belongs to <c>Live</c>); null for the root namespace.</summary>
    private static string? FolderOf(string? ns) =>
        ns is not null && ns.StartsWith(Root + ".", StringComparison.Ordinal) ? ns[(Root.Length + 1)..].Split('.')[0] : null;

    public static TheoryData<string> Folders() => new(Ranks.Keys);

    [Fact]
    public void EveryFolder_HasARank()
    {
        var unranked = typeof(ApiMarker).Assembly.GetTypes()
            .Select(t => FolderOf(t.Namespace)).OfType<string>().Distinct()
            .Where(f => !Ranks.ContainsKey(f)).ToList();
        Assert.True(unranked.Count == 0, $"Give these folders a rank in {nameof(DependencyTests)}.{nameof(Ranks)}: {string.Join(", ", unranked)}");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Folder_UsesOnlyLowerRanks(string folder)
    {
        var forbidden = Ranks.Where(r => r.Key != folder && r.Value >= Ranks[folder]).Select(r => Ns(r.Key)).ToArray();
        var result = Api.That().ResideInNamespace(Ns(folder)).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful,
            $"{folder} (rank {Ranks[folder]}) may use only lower ranks, but these types reference one of " +
            $"{string.Join(", ", forbidden.Select(FolderOf))}: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Folders_HaveNoCycle()
    {
        // the graph as it is, independent of the ranks: a cycle is reported even if someone re-ranks folders to allow it
        var present = Ranks.Keys.Where(f => Api.That().ResideInNamespace(Ns(f)).GetTypes().Any()).ToList();
        var edges = present.ToDictionary(f => f, f => present
            .Where(g => g != f && Api.That().ResideInNamespace(Ns(f)).And().HaveDependencyOn(Ns(g)).GetTypes().Any())
            .ToList());

        var state = new Dictionary<string, int>(); // 1 on the path, 2 done
        var path = new Stack<string>();
        string? Visit(string f)
        {
            state[f] = 1;
            path.Push(f);
            foreach (var g in edges[f])
            {
                if (state.GetValueOrDefault(g) == 1)
                    return string.Join(" → ", path.Reverse().SkipWhile(x => x != g).Append(g));
                if (state.GetValueOrDefault(g) == 0 && Visit(g) is { } cycle) return cycle;
            }
            path.Pop();
            state[f] = 2;
            return null;
        }

        foreach (var f in present)
            if (state.GetValueOrDefault(f) == 0 && Visit(f) is { } cycle)
                Assert.Fail($"Folders depend on each other in a cycle: {cycle}");
    }

    [Fact]
    public void Statistics_DoesNoIo()
    {
        var result = Api.That().ResideInNamespace(Ns("Statistics")).ShouldNot().HaveDependencyOnAny(Io).GetResult();
        Assert.True(result.IsSuccessful, $"Statistics is pure, but these types use I/O: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    /// <summary>
    /// Each table and the folder that owns it (issue 25): only the owner's SQL names it; another folder asks the owner (a
    /// query method, or a statement the owner's store hands out for a batch). Storage holds the migrations, which name every
    /// table. A new table gets one line here.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> TableOwners = new Dictionary<string, string>
    {
        ["feature_flags"] = "Flags",
        ["flag_changes"] = "Flags",
        ["feed_revision"] = "Flags",
        ["flag_outbox"] = "Flags",
        ["flag_environments"] = "Flags",
        ["environments"] = "Environments",
        ["change_requests"] = "ChangeRequests",
        ["webhooks"] = "Webhooks",
        ["webhook_deliveries"] = "Webhooks",
        ["webhook_attempts"] = "Webhooks",
        ["webhook_notices"] = "Webhooks",
        ["webhook_notice_seq"] = "Webhooks",
        ["webhook_cursors"] = "Webhooks",
        ["impact_metrics"] = "Metrics",
        ["api_keys"] = "Access",
        ["api_key_events"] = "Access",
        ["flag_exposures"] = "Evaluation",
        ["anomalies"] = "Anomalies",
        ["analysis_windows"] = "Anomalies",
        ["predictions"] = "Predictions",
        ["rollout_plans"] = "Rollouts",
        ["flag_schedules"] = "Rollouts",
        ["chat_sessions"] = "Assistant",
        ["conversations"] = "Assistant",
        ["schema_migrations"] = "Storage",
    };

    private static string ApiSource => Path.Combine(RepoPaths.Root, "FlagAnalyzer.Api");

    /// <summary>Every <c>.cs</c> file of a folder of the API, with its literals (build output left out).</summary>
    private static IEnumerable<(string Folder, string File, List<string> Literals)> SourceLiterals() =>
        Directory.EnumerateDirectories(ApiSource)
            .Select(d => Path.GetFileName(d))
            .Where(f => f is not ("bin" or "obj" or "Properties"))
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(ApiSource, folder), "*.cs", SearchOption.AllDirectories)
                .Select(file => (folder, Path.GetRelativePath(ApiSource, file), CSharpStringLiterals.Read(File.ReadAllText(file)))));

    /// <summary>A literal that is a statement (or part of one), as opposed to a message that mentions a word.</summary>
    private static readonly Regex Sql = new(@"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE TABLE|ALTER TABLE|COPY|ON CONFLICT)\b");

    private static readonly Regex CreateTable = new(@"CREATE TABLE (?:IF NOT EXISTS )?(\w+)");

    [Fact]
    public void EveryTable_HasAnOwningFolder()
    {
        var created = SourceLiterals().Where(f => f.Folder == "Storage")
            .SelectMany(f => f.Literals.SelectMany(l => CreateTable.Matches(l).Select(m => m.Groups[1].Value)))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("feature_flags", created);
        var unowned = created.Where(t => !TableOwners.ContainsKey(t)).Order().ToList();
        Assert.True(unowned.Count == 0, $"Give these tables an owning folder in {nameof(DependencyTests)}.{nameof(TableOwners)}: {string.Join(", ", unowned)}");
    }

    [Fact]
    public void EachFolder_QueriesOnlyItsOwnTables()
    {
        // a table where SQL names one (after FROM, JOIN, INTO, UPDATE, TABLE, COPY, REFERENCES), not a column that shares its
        // word (webhooks.environments is not the environments table)
        var words = TableOwners.Keys.ToDictionary(t => t,
            t => new Regex($@"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|COPY|REFERENCES)\s+{t}(?![\w.])", RegexOptions.IgnoreCase));
        var trespasses = new List<string>();
        var statements = 0;
        foreach (var (folder, file, literals) in SourceLiterals())
        {
            if (folder == "Storage") continue; // the migrations
            foreach (var sql in literals.Where(l => Sql.IsMatch(l)))
            {
                statements++;
                foreach (var (table, word) in words)
                    if (TableOwners[table] != folder && word.IsMatch(sql))
                        trespasses.Add($"{file} names {table} (owned by {TableOwners[table]}): {Regex.Replace(sql.Trim(), @"\s+", " ")[..Math.Min(120, Regex.Replace(sql.Trim(), @"\s+", " ").Length)]}");
            }
        }
        Assert.True(statements > 50, $"expected the stores' SQL among the literals, found {statements} statements");
        Assert.True(trespasses.Count == 0, "Each folder owns its tables; ask the owner instead:\n" + string.Join("\n", trespasses.Distinct()));
    }
}
