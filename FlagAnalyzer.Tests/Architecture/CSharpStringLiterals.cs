using System.Text;

namespace FlagAnalyzer.Tests.Architecture;

/// <summary>
/// The string literals of a C# source file, comments skipped: regular, verbatim, raw and interpolated ones (an
/// interpolation hole stays in the text as written, <c>{Columns}</c>; strings inside holes of regular interpolated strings
/// are literals of their own). Enough of a lexer for the table-ownership rule, which reads the SQL text as written.
/// </summary>
public static class CSharpStringLiterals
{
    public static List<string> Read(string source)
    {
        var found = new List<string>();
        var i = 0;
        Scan(source, ref i, found, insideHole: false);
        return found;
    }

    /// <summary>Code up to the end, or (in a hole) up to the <c>}</c> that closes it, which <paramref name="i"/> is left on.</summary>
    private static void Scan(string s, ref int i, List<string> found, bool insideHole)
    {
        var depth = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '/' && At(s, i + 1, '/'))
            {
                while (i < s.Length && s[i] != '\n') i++;
                continue;
            }
            if (c == '/' && At(s, i + 1, '*'))
            {
                var end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? s.Length : end + 2;
                continue;
            }
            if (c == '\'')
            {
                i += At(s, i + 1, '\\') ? 3 : 2;
                while (i < s.Length && s[i] != '\'') i++;
                i++;
                continue;
            }
            if (c == '"' || (c is '$' or '@' && StringStartsAt(s, i)))
            {
                found.Add(ReadString(s, ref i, found));
                continue;
            }
            if (insideHole)
            {
                if (c == '{') depth++;
                else if (c == '}')
                {
                    if (depth == 0) return;
                    depth--;
                }
            }
            i++;
        }
    }

    private static bool At(string s, int i, char c) => i < s.Length && s[i] == c;

    private static bool StringStartsAt(string s, int i)
    {
        while (i < s.Length && s[i] is '$' or '@') i++;
        return At(s, i, '"');
    }

    private static string ReadString(string s, ref int i, List<string> found)
    {
        int dollars = 0;
        var verbatim = false;
        for (; s[i] != '"'; i++)
        {
            if (s[i] == '$') dollars++;
            else verbatim = true;
        }
        var quotes = 0;
        while (At(s, i + quotes, '"')) quotes++;
        if (quotes >= 3)
        {
            // raw: up to the same run of quotes; holes stay as written
            var start = i + quotes;
            var end = s.IndexOf(new string('"', quotes), start, StringComparison.Ordinal);
            if (end < 0) end = s.Length;
            i = Math.Min(s.Length, end + quotes);
            return s[start..end];
        }
        if (quotes == 2)
        {
            i += 2;
            return "";
        }
        i++;
        var text = new StringBuilder();
        while (i < s.Length)
        {
            var c = s[i];
            if (verbatim && c == '"' && At(s, i + 1, '"')) { text.Append('"'); i += 2; continue; }
            if (c == '"') { i++; break; }
            if (!verbatim && c == '\\') { text.Append(s, i, Math.Min(2, s.Length - i)); i += 2; continue; }
            if (dollars > 0 && c == '{' && At(s, i + 1, '{')) { text.Append('{'); i += 2; continue; }
            if (dollars > 0 && c == '}' && At(s, i + 1, '}')) { text.Append('}'); i += 2; continue; }
            if (dollars > 0 && c == '{')
            {
                var hole = ++i;
                Scan(s, ref i, found, insideHole: true);
                text.Append('{').Append(s, hole, Math.Max(0, Math.Min(i, s.Length) - hole)).Append('}');
                i++;
                continue;
            }
            text.Append(c);
            i++;
        }
        return text.ToString();
    }
}
