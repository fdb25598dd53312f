using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>Pure: topics → groups. Every combination of topics gets each matching event exactly once.</summary>
public sealed class LiveTopicsTests
{
    private static readonly string[] Topics = [LiveTopics.All, LiveTopics.Anomalies, "flag:f1", "flag:f2", "chat:s1"];

    private static readonly LiveEvent[] Events =
    [
        new(LiveEventTypes.FlagUpdated, new object(), "f1"),
        new(LiveEventTypes.FlagChanged, new object(), "f2"),
        new(LiveEventTypes.MetricsRecorded, new object(), "f3"),
        new(LiveEventTypes.AnomalyDetected, new object(), "f1"),
        new(LiveEventTypes.AnomalyResolved, new object(), "f3"),
        new(LiveEventTypes.AnomalyDetected, new object()),
        new(LiveEventTypes.ChatToken, new object(), SessionId: "s1"),
        new(LiveEventTypes.ChatMessage, new object(), SessionId: "s2"),
    ];

    private static bool Matches(string topic, LiveEvent e) => topic switch
    {
        LiveTopics.All => !LiveTopics.IsChat(e.Type),
        LiveTopics.Anomalies => LiveTopics.IsAnomaly(e.Type),
        _ when topic.StartsWith("flag:") => !LiveTopics.IsChat(e.Type) && e.FlagId == topic[5..],
        _ => LiveTopics.IsChat(e.Type) && e.SessionId == topic[5..],
    };

    [Fact]
    public void EveryTopicCombination_GetsEachMatchingEventExactlyOnce()
    {
        for (var mask = 0; mask < 1 << Topics.Length; mask++)
        {
            var topics = Topics.Where((_, i) => (mask & (1 << i)) != 0).ToHashSet();
            var groups = LiveTopics.GroupsFor(topics);
            foreach (var e in Events)
            {
                var expected = topics.Any(t => Matches(t, e)) ? 1 : 0;
                var copies = LiveTopics.GroupsOf(e).Count(groups.Contains);
                Assert.True(expected == copies, $"topics [{string.Join(",", topics)}], {e.Type} {e.FlagId}{e.SessionId}: {copies} copies, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData("all", true)]
    [InlineData("anomalies", true)]
    [InlineData("flag:flag_01h", true)]
    [InlineData("chat:abc", true)]
    [InlineData("flag:", false)]
    [InlineData("chat:ses_01:a.b-c", true)]
    [InlineData("flag:a b", false)]
    [InlineData("anomalies:flag:a", false)]
    [InlineData("flags", false)]
    [InlineData("", false)]
    public void IsValid_AcceptsOnlyContractTopics(string topic, bool valid) => Assert.Equal(valid, LiveTopics.IsValid(topic));
}
