namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary>
/// Semantic versions as flagd's <c>sem_ver</c> reads them: an optional <c>v</c>/<c>V</c> prefix,
/// <c>major[.minor[.patch]]</c> (missing parts are 0, as Go's <c>x/mod/semver</c> allows), an optional
/// pre-release (only after a full <c>major.minor.patch</c>) and build metadata, which is ignored.
/// Precedence follows semver.org §11.
/// </summary>
public readonly record struct SemVer(string Major, string Minor, string Patch, string[] PreRelease)
{
    public static bool TryParse(object? value, out SemVer version)
    {
        version = default;
        var text = Values.ToText(value);
        if (text.StartsWith('v') || text.StartsWith('V')) text = text[1..];
        var plus = text.IndexOf('+');
        if (plus >= 0)
        {
            if (!ValidIdentifiers(text[(plus + 1)..], numericRule: false)) return false;
            text = text[..plus];
        }
        string[] pre = [];
        var dash = text.IndexOf('-');
        if (dash >= 0)
        {
            var preText = text[(dash + 1)..];
            if (!ValidIdentifiers(preText, numericRule: true)) return false;
            pre = preText.Split('.');
            text = text[..dash];
        }
        var parts = text.Split('.');
        if (parts.Length is < 1 or > 3 || !parts.All(Numeric)) return false;
        if ((pre.Length > 0 || plus >= 0) && parts.Length != 3) return false;
        version = new SemVer(parts[0], parts.Length > 1 ? parts[1] : "0", parts.Length > 2 ? parts[2] : "0", pre);
        return true;
    }

    private static bool Numeric(string s) => s.Length > 0 && s.All(char.IsAsciiDigit) && (s.Length == 1 || s[0] != '0');

    private static bool ValidIdentifiers(string s, bool numericRule) => s.Length > 0 && s.Split('.').All(id =>
        id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
        && (!numericRule || !id.All(char.IsAsciiDigit) || Numeric(id)));

    private static int CompareNumber(string a, string b) => a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);

    public static int Compare(SemVer a, SemVer b)
    {
        var c = CompareNumber(a.Major, b.Major);
        if (c == 0) c = CompareNumber(a.Minor, b.Minor);
        if (c == 0) c = CompareNumber(a.Patch, b.Patch);
        if (c != 0) return Math.Sign(c);
        if (a.PreRelease.Length == 0 || b.PreRelease.Length == 0)
            return a.PreRelease.Length == b.PreRelease.Length ? 0 : a.PreRelease.Length == 0 ? 1 : -1; // a release outranks its pre-releases
        for (var i = 0; i < Math.Min(a.PreRelease.Length, b.PreRelease.Length); i++)
        {
            string x = a.PreRelease[i], y = b.PreRelease[i];
            bool xn = x.All(char.IsAsciiDigit), yn = y.All(char.IsAsciiDigit);
            c = (xn, yn) switch
            {
                (true, true) => CompareNumber(x, y),
                (true, false) => -1,
                (false, true) => 1,
                _ => string.CompareOrdinal(x, y),
            };
            if (c != 0) return Math.Sign(c);
        }
        return a.PreRelease.Length.CompareTo(b.PreRelease.Length);
    }

    /// <summary>Applies one of <c>= != &lt; &lt;= &gt; &gt;=</c>, <c>^</c> (same major) or <c>~</c> (same major.minor).</summary>
    public static bool IsOperator(string op) => op is "=" or "!=" or "<" or "<=" or ">" or ">=" or "^" or "~";

    public static bool TryApply(string op, SemVer a, SemVer b, out bool result)
    {
        result = false;
        if (!IsOperator(op)) return false;
        result = op switch
        {
            "=" => Compare(a, b) == 0,
            "!=" => Compare(a, b) != 0,
            "<" => Compare(a, b) < 0,
            "<=" => Compare(a, b) <= 0,
            ">" => Compare(a, b) > 0,
            ">=" => Compare(a, b) >= 0,
            "^" => CompareNumber(a.Major, b.Major) == 0,
            "~" => CompareNumber(a.Major, b.Major) == 0 && CompareNumber(a.Minor, b.Minor) == 0,
            _ => false,
        };
        return true;
    }
}
