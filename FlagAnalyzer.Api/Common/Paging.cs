using System.Buffers.Text;
using System.Text;

namespace FlagAnalyzer.Api.Common;

/// <summary>A page of a list: the items and, when more remain, an opaque cursor for the next page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Keyset paging: a cursor is the URL-safe base64 of the last item's sort key.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static string Encode(string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key));

    public static bool TryDecode(string? cursor, out string? key)
    {
        key = null;
        if (string.IsNullOrEmpty(cursor)) return true;
        try
        {
            key = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Validates <c>limit</c> and <c>cursor</c> query values into the validator.</summary>
    public static (int Limit, string? After) Read(int? limit, string? cursor, Validator v, int max = MaxLimit, int @default = DefaultLimit)
    {
        if (limit is < 1 || limit > max) v.Add("limit", $"must be between 1 and {max}");
        if (!TryDecode(cursor, out var after)) v.Add("cursor", "is not a cursor this API issued");
        return (limit ?? @default, after);
    }

    /// <summary>Given up to limit+1 rows, the page and the cursor of its last item when more remain.</summary>
    public static Page<T> Build<T>(List<T> rows, int limit, Func<T, string> key)
    {
        if (rows.Count <= limit) return new Page<T>(rows, null);
        rows.RemoveAt(rows.Count - 1);
        return new Page<T>(rows, Encode(key(rows[^1])));
    }
}
