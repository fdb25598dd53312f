using System.Globalization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>A change in words for anomaly messages: "rollout 10% → 25% at 14:02 UTC" rather than its id.</summary>
public static class ChangeText
{
    public static string Describe(ChangeType changeType, DateTimeOffset at, double? rolloutBefore, double? rolloutAfter, DateTimeOffset now)
    {
        var what = changeType switch
        {
            ChangeType.RolloutChanged when rolloutBefore is { } b && rolloutAfter is { } a => F($"rollout {b:0.##}% → {a:0.##}%"),
            ChangeType.RolloutChanged when rolloutAfter is { } a => F($"rollout to {a:0.##}%"),
            ChangeType.RolloutChanged => "rollout change",
            ChangeType.Enabled when rolloutAfter is { } a => F($"enabling at {a:0.##}%"),
            ChangeType.Enabled => "enabling",
            ChangeType.Disabled => "disabling",
            ChangeType.RolledBack => "rollback",
            ChangeType.Updated when rolloutBefore is { } b && rolloutAfter is { } a && b != a => F($"update (rollout {b:0.##}% → {a:0.##}%)"),
            ChangeType.Updated => "update",
            _ => changeType.ToWire().Replace('_', ' '),
        };
        var utc = at.ToUniversalTime();
        var when = utc.Date == now.ToUniversalTime().Date ? F($"{utc:HH:mm} UTC") : F($"{utc:yyyy-MM-dd HH:mm} UTC");
        return $"{what} at {when}";
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
