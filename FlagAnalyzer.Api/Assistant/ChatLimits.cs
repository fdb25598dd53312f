using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>What a chat message and a client-chosen session id may be (shared by <c>POST /api/chat</c> and <c>/ws</c>).</summary>
public static partial class ChatLimits
{
    public const int MaxMessageLength = 10_000;
    public const int MaxSessionIdLength = 100;

    public static Validator Validate(string? message, string? sessionId)
    {
        var v = new Validator();
        if (string.IsNullOrWhiteSpace(message)) v.Add("message", "is required");
        else if (message.Length > MaxMessageLength) v.Add("message", $"must be at most {MaxMessageLength} characters");
        if (sessionId is not null && !SessionIdPattern().IsMatch(sessionId))
            v.Add("sessionId", $"must be 1–{MaxSessionIdLength} characters of letters, digits, '-', '_', '.' or ':'");
        return v;
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial Regex SessionIdPattern();
}
