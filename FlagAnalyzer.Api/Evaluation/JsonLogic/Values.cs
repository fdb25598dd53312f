using System.Globalization;
using System.Text.Json;

namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary>
/// JSONLogic's value model on plain CLR objects: <c>null</c>, <see cref="bool"/>, <see cref="double"/>,
/// <see cref="string"/>, <c>object?[]</c> (array) and <see cref="IReadOnlyDictionary{TKey,TValue}"/> (object),
/// with JavaScript's truthiness, coercions and comparisons, as JSONLogic defines them.
/// </summary>
public static class Values
{
    public static readonly object True = true;
    public static readonly object False = false;

    public static object Bool(bool b) => b ? True : False;

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        object?[] a => a.Length > 0,
        _ => true,
    };

    public static string ToText(object? v) => v switch
    {
        null => "",
        bool b => b ? "true" : "false",
        double d => NumberText(d),
        string s => s,
        object?[] a => string.Join(",", a.Select(ToText)),
        _ => "[object Object]",
    };

    public static string NumberText(double d) => d == Math.Floor(d) && Math.Abs(d) < 1e15
        ? ((long)d).ToString(CultureInfo.InvariantCulture)
        : d.ToString("R", CultureInfo.InvariantCulture);

    public static double ToNumber(object? v) => v switch
    {
        null => 0,
        bool b => b ? 1 : 0,
        double d => d,
        string s when string.IsNullOrWhiteSpace(s) => 0,
        string s => double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN,
        _ => double.NaN,
    };

    /// <summary>JavaScript's <c>==</c> for JSON values.</summary>
    public static bool LooseEquals(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is bool || b is bool) return ToNumber(a) == ToNumber(b) && a is not (object?[] or IReadOnlyDictionary<string, object?>);
        return (a, b) switch
        {
            (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
            (double x, double y) => x == y,
            (double x, string y) => x == ToNumber(y),
            (string x, double y) => ToNumber(x) == y,
            _ => ReferenceEquals(a, b),
        };
    }

    /// <summary>JavaScript's <c>===</c> for JSON values (arrays and objects are equal only to themselves).</summary>
    public static bool StrictEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (double x, double y) => x == y,
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        _ => a is not null && ReferenceEquals(a, b),
    };

    /// <summary>JavaScript's relational comparison: strings by UTF-16 code units, anything else as numbers; null when NaN is involved.</summary>
    public static int? Compare(object? a, object? b)
    {
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        var l = ToNumber(a);
        var r = ToNumber(b);
        if (double.IsNaN(l) || double.IsNaN(r)) return null;
        return l.CompareTo(r);
    }

    /// <summary>Converts parsed JSON into the value model (numbers become <see cref="double"/>).</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.True => True,
        JsonValueKind.False => False,
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToArray(),
        JsonValueKind.Object => FromJsonObject(e),
        _ => null,
    };

    public static Dictionary<string, object?> FromJsonObject(JsonElement e)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value);
        return d;
    }
}
