using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// The wire words of a closed set, read once from its members' <see cref="JsonStringEnumMemberNameAttribute"/>: the
/// same word goes into JSON (through <see cref="JsonStringEnumConverter{TEnum}"/>), database text columns, query
/// parameters, live events and prompts. An enum used here numbers its members 0, 1, 2, … (the default), and every
/// member names its word; both are checked on first use.
/// </summary>
public static class WireNames<T> where T : struct, Enum
{
    private static readonly T[] Members = Enum.GetValues<T>();
    private static readonly string[] Words = Read();

    /// <summary>Every member, in declaration order.</summary>
    public static IReadOnlyList<T> All => Members;

    /// <summary>Every word, in declaration order.</summary>
    public static IReadOnlyList<string> AllWords => Words;

    public static string Name(T value)
    {
        var i = Index(value);
        return (uint)i < (uint)Words.Length ? Words[i] : throw new ArgumentOutOfRangeException(nameof(value), value, $"Not a {typeof(T).Name}.");
    }

    /// <summary>Exact, case-sensitive match of a word; no allocation.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out T value)
    {
        for (var i = 0; i < Words.Length; i++)
        {
            if (text.SequenceEqual(Words[i])) { value = Members[i]; return true; }
        }
        value = default;
        return false;
    }

    public static bool TryParse(string? text, out T value)
    {
        if (text is null) { value = default; return false; }
        return TryParse(text.AsSpan(), out value);
    }

    private static int Index(T value) => Unsafe.SizeOf<T>() switch
    {
        1 => Unsafe.As<T, byte>(ref value),
        2 => Unsafe.As<T, short>(ref value),
        4 => Unsafe.As<T, int>(ref value),
        _ => (int)Unsafe.As<T, long>(ref value),
    };

    private static string[] Read()
    {
        var words = new string[Members.Length];
        for (var i = 0; i < Members.Length; i++)
        {
            if (Index(Members[i]) != i)
                throw new InvalidOperationException($"{typeof(T).Name} must number its members 0, 1, 2, … to have wire names.");
            var field = typeof(T).GetField(Members[i].ToString(), BindingFlags.Public | BindingFlags.Static)!;
            words[i] = field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
                ?? throw new InvalidOperationException($"{typeof(T).Name}.{field.Name} has no [JsonStringEnumMemberName].");
        }
        return words;
    }
}

/// <summary>Every closed set's <c>ToWire()</c>: the member's word, read by <see cref="WireNames{T}"/>.</summary>
public static class WireWords
{
    public static string ToWire<T>(this T value) where T : struct, Enum => WireNames<T>.Name(value);
}
