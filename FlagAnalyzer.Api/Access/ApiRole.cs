using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Access;

/// <summary>What a key may do (the rules per endpoint are in <see cref="EndpointRules"/>). Serialised lower case.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ApiRole>))]
public enum ApiRole
{
    /// <summary>Keys and everything else.</summary>
    [JsonStringEnumMemberName("admin")] Admin,
    /// <summary>Flags, plans, chat; reads everything.</summary>
    [JsonStringEnumMemberName("editor")] Editor,
    /// <summary>Reads everything, changes nothing.</summary>
    [JsonStringEnumMemberName("viewer")] Viewer,
    /// <summary>Flag evaluation for its one environment, nothing else.</summary>
    [JsonStringEnumMemberName("sdk")] Sdk,
    /// <summary>Metrics and telemetry intake, nothing else.</summary>
    [JsonStringEnumMemberName("ingest")] Ingest,
}

public static class ApiRoles
{
    public static readonly IReadOnlyList<ApiRole> All = Enum.GetValues<ApiRole>();


    public static bool TryParse(string? text, out ApiRole role) => WireNames<ApiRole>.TryParse(text, out role);
}
