using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Unit.Common;

/// <summary>
/// The closed sets are enums, but the wire did not change: every member is written as the word the API wrote when
/// these were string constants (the table below is that list, from the constants as they were), read back from it,
/// and nothing else is read.
/// </summary>
public sealed class ClosedSetWordsTests
{
    /// <summary>Every closed set with its words in declaration order: today's wire format.</summary>
    public static readonly (Type Enum, string[] Words)[] Sets =
    [
        (typeof(Severity), ["low", "medium", "high", "critical"]),
        (typeof(AnomalyType), ["error_spike", "latency_spike", "conversion_drop", "satisfaction_drop"]),
        (typeof(AnomalyStatus), ["active", "acknowledged", "resolved"]),
        (typeof(Cohort), ["treatment", "control"]),
        (typeof(Verdict), ["regression", "within_threshold", "not_significant", "insufficient_data"]),
        (typeof(AnalysisMode), ["before_after", "cohorts", "none"]),
        (typeof(RiskLevel), ["low", "medium", "high", "critical"]),
        (typeof(UserImpact), ["none", "minimal", "moderate", "significant", "severe"]),
        (typeof(ChangeType), ["created", "enabled", "disabled", "rollout_changed", "updated", "deleted", "rolled_back"]),
        (typeof(MessageRole), ["user", "assistant"]),
        // enums already before: their words through the same one mapping
        (typeof(FlagAnalyzer.Api.Rollouts.RolloutState), ["pending", "running", "paused", "completed", "rolled_back", "aborted"]),
        (typeof(FlagAnalyzer.Api.Rollouts.RolloutAction), ["hold", "advance", "roll_back", "pause", "complete"]),
        (typeof(FlagAnalyzer.Api.Rollouts.ScheduleAction), ["enable", "disable", "set_rollout", "start_rollout"]),
        (typeof(FlagAnalyzer.Api.Access.ApiRole), ["admin", "editor", "viewer", "sdk", "ingest"]),
    ];

    public static TheoryData<Type> SetTypes() => new(Sets.Select(s => s.Enum));

    private static string[] WordsOf(Type t) => Sets.Single(s => s.Enum == t).Words;

    [Theory]
    [MemberData(nameof(SetTypes))]
    public void EveryMember_IsWrittenAsTodaysWord_AndReadBack_ThroughJsonAndWireNames(Type set)
    {
        var words = WordsOf(set);
        var members = Enum.GetValues(set);
        Assert.Equal(words.Length, members.Length);
        for (var i = 0; i < words.Length; i++)
        {
            var member = members.GetValue(i)!;
            // the API's JSON options and plain default options both honour the enum's own converter
            Assert.Equal($"\"{words[i]}\"", JsonSerializer.Serialize(member, set, Json.Options));
            Assert.Equal($"\"{words[i]}\"", JsonSerializer.Serialize(member, set));
            Assert.Equal(member, JsonSerializer.Deserialize($"\"{words[i]}\"", set, Json.Options));
            Assert.Equal(words[i], Name(set, member));
            Assert.Equal((true, member), TryParse(set, words[i]));
        }
        Assert.Equal(words, (IEnumerable<string>)Wire(set).GetProperty(nameof(WireNames<Severity>.AllWords))!.GetValue(null)!);
    }

    [Theory]
    [MemberData(nameof(SetTypes))]
    public void AWordThisBuildDoesNotKnow_IsNotRead(Type set)
    {
        var first = WordsOf(set)[0];
        // exact words only: not the C# member name, not another case, not padded (request bodies and query parameters
        // keep these as strings and read them here, so their 400s name the field as before)
        foreach (var word in new[] { "bogus", first.ToUpperInvariant(), Enum.GetNames(set)[0], "", " " + first })
            Assert.False(TryParse(set, word).Ok, $"'{word}' read as a {set.Name}");
        Assert.False(TryParse(set, null).Ok);
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize("\"bogus\"", set, Json.Options));
    }

    [Fact]
    public void CohortSwitch_ReadsTheSameWordsAsTheAttributes()
    {
        foreach (var c in Enum.GetValues<Cohort>())
        {
            Assert.True(Cohorts.TryParse(c.ToWire().AsSpan(), out var read));
            Assert.Equal(c, read);
            Assert.Equal(c, Cohorts.ParseOptional(c.ToWire()));
        }
        Assert.False(Cohorts.TryParse("Control".AsSpan(), out _));
        Assert.Null(Cohorts.ParseOptional(null));
        Assert.Throws<ArgumentException>(() => Cohorts.ParseOptional("both"));
    }

    [Fact]
    public void SeveritiesAndRiskLevels_ShareTheirWords_AndRankInTheSameOrder()
    {
        Assert.Equal(WordsOf(typeof(Severity)), WordsOf(typeof(RiskLevel)));
        Assert.True(Severity.Low < Severity.Medium && Severity.Medium < Severity.High && Severity.High < Severity.Critical);
        Assert.Equal(Enum.GetValues<Severity>().Select(s => s.Rank()), Enum.GetValues<RiskLevel>().Select(r => r.Rank()));
        Assert.Equal([0, 1, 2, 3], Enum.GetValues<Severity>().Select(s => s.Rank()));
    }

    [Fact]
    public void RecordableChangeTypes_AreAllButCreateAndDelete()
    {
        Assert.Equal([ChangeType.Enabled, ChangeType.Disabled, ChangeType.RolloutChanged, ChangeType.Updated, ChangeType.RolledBack],
            ChangeTypes.Recordable);
        Assert.False(ChangeType.Created.IsRecordable());
        Assert.False(ChangeType.Deleted.IsRecordable());
    }

    /// <summary>Every enum of the API that names its JSON words names all of them, and is listed in <see cref="Sets"/> or
    /// was an enum before (so a new closed set gets a row here, with its words).</summary>
    [Fact]
    public void EveryApiEnumWithWireWords_NamesEveryMember()
    {
        var named = typeof(FlagAnalyzer.Api.ApiMarker).Assembly.GetTypes()
            .Where(t => t.IsEnum && t.GetFields(BindingFlags.Public | BindingFlags.Static).Any(f => f.IsDefined(typeof(JsonStringEnumMemberNameAttribute))))
            .ToList();
        Assert.All(Sets, s => Assert.Contains(s.Enum, named));
        foreach (var t in named)
        {
            var unnamed = t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => !f.IsDefined(typeof(JsonStringEnumMemberNameAttribute)));
            Assert.True(!unnamed.Any(), $"{t.Name}: {string.Join(", ", unnamed.Select(f => f.Name))} have no wire word");
        }
    }

    private static Type Wire(Type set) => typeof(WireNames<>).MakeGenericType(set);

    private static string Name(Type set, object member) => (string)Wire(set).GetMethod(nameof(WireNames<Severity>.Name))!.Invoke(null, [member])!;

    private static (bool Ok, object? Value) TryParse(Type set, string? word)
    {
        var method = Wire(set).GetMethod(nameof(WireNames<Severity>.TryParse), [typeof(string), set.MakeByRefType()])!;
        object?[] args = [word, null];
        var ok = (bool)method.Invoke(null, args)!;
        return (ok, ok ? args[1] : null);
    }
}
