namespace FlagAnalyzer.Api;

/// <summary>Names this assembly for <c>WebApplicationFactory</c> (the AppHost also has a top-level <c>Program</c>).</summary>
public sealed class ApiMarker;
