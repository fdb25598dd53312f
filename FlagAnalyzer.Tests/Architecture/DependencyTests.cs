using FlagAnalyzer.Api;
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
        ["Flags"] = 3,
        ["Metrics"] = 3,
        ["Access"] = 3,
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
}
