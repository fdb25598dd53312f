using System.Diagnostics;
using System.Diagnostics.Metrics;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// Closed sets are stored as their wire words in text columns (<see cref="WireNames{T}"/>), and read back here by the
/// row classes. A word this build does not know — written by a newer build that shares the PostgreSQL database during
/// a rolling upgrade, or by hand — leaves that row out of the read instead of failing the whole list or showing the row
/// as something it is not; every such row is counted (<c>flaganalyzer.store.unknown_words</c>, tagged with table and
/// column) and noted on the current trace, so it is not silent.
/// </summary>
public static class StoredWords
{
    public const string MeterName = "FlagAnalyzer.Storage";
    public const string UnknownWordsCounter = "flaganalyzer.store.unknown_words";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Unknown = Meter.CreateCounter<long>(UnknownWordsCounter,
        description: "Rows left out of a read because a closed-set column holds a word this build does not know");

    /// <summary>The member a stored word names; false (counted) when this build does not know the word.</summary>
    public static bool TryRead<T>(string table, string column, string? rowId, string? word, out T value) where T : struct, Enum
    {
        if (WireNames<T>.TryParse(word, out value)) return true;
        Skipped(table, column, rowId, word);
        return false;
    }

    /// <summary><see cref="TryRead{T}"/> for a nullable column: null reads as null.</summary>
    public static bool TryReadOptional<T>(string table, string column, string? rowId, string? word, out T? value) where T : struct, Enum
    {
        value = null;
        if (word is null) return true;
        if (!TryRead<T>(table, column, rowId, word, out var v)) return false;
        value = v;
        return true;
    }

    /// <summary>The rows this build can represent, in order (see <see cref="StoredWords"/>).</summary>
    public static List<T> Known<TRow, T>(this List<TRow> rows, Func<TRow, T?> map) where T : class
    {
        var known = new List<T>(rows.Count);
        foreach (var row in rows)
        {
            if (map(row) is { } item) known.Add(item);
        }
        return known;
    }

    private static void Skipped(string table, string column, string? rowId, string? word)
    {
        Unknown.Add(1, new KeyValuePair<string, object?>("db.table", table), new KeyValuePair<string, object?>("db.column", column));
        Activity.Current?.AddEvent(new ActivityEvent("flaganalyzer.store.unknown_word", tags: new ActivityTagsCollection
        {
            ["db.table"] = table,
            ["db.column"] = column,
            ["row.id"] = rowId,
            ["word"] = word,
        }));
    }
}
