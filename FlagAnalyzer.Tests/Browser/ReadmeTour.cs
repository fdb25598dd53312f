using System.Text.Json;
using System.Text.RegularExpressions;
using FlagAnalyzer.Tests.Web;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>
/// The README's "First five minutes" section as data: its numbered steps (title and text) and the curl commands in
/// them, so the browser test follows what the README says rather than a copy of it.
/// </summary>
public sealed partial class ReadmeTour
{
    public const string Heading = "## First five minutes";

    public sealed record Step(int Number, string Title, string Text)
    {
        /// <summary>The curl commands in the step's code blocks, as written (lines kept, the list's indentation removed).</summary>
        public IReadOnlyList<string> Curls => [.. CodeBlock().Matches(Text)
            .Select(m => string.Join('\n', m.Groups[1].Value.Split('\n').Select(l => l.Trim())).Trim())
            .Where(c => c.StartsWith("curl ", StringComparison.Ordinal))];

        /// <summary>Fails, naming the step, when the README no longer says <paramref name="words"/> here.</summary>
        public void Says(string words) =>
            Assert.True(Text.Contains(words, StringComparison.Ordinal),
                $"README.md, \"{Heading[3..]}\" step {Number} ({Title}) no longer says «{words}»; the tour test follows it. Step text:\n{Text}");
    }

    private ReadmeTour(IReadOnlyList<Step> steps) => Steps = steps;

    public IReadOnlyList<Step> Steps { get; }

    public Step this[string title] => Steps.SingleOrDefault(s => s.Title == title)
        ?? throw new Xunit.Sdk.XunitException($"README.md's tour has no step titled '{title}' (it has: {string.Join(", ", Steps.Select(s => s.Title))}).");

    public static ReadmeTour Read()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")).ReplaceLineEndings("\n");
        var start = readme.IndexOf(Heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no '{Heading}' section.");
        var end = readme.IndexOf("\n## ", start + Heading.Length, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];

        // a step is "N. **Title.** text" with its indented continuation lines; the first unindented line ends it
        var steps = new List<Step>();
        (int Number, string Title, List<string> Lines)? current = null;
        foreach (var line in section.Split('\n'))
        {
            if (StepLine().Match(line) is { Success: true } m)
            {
                if (current is { } c) steps.Add(new Step(c.Number, c.Title, string.Join('\n', c.Lines)));
                current = (int.Parse(m.Groups[1].Value), m.Groups[2].Value, [line]);
            }
            else if (current is { } c)
            {
                if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
                {
                    steps.Add(new Step(c.Number, c.Title, string.Join('\n', c.Lines)));
                    current = null;
                }
                else c.Lines.Add(line);
            }
        }
        if (current is { } last) steps.Add(new Step(last.Number, last.Title, string.Join('\n', last.Lines)));
        Assert.Equal(Enumerable.Range(1, steps.Count), steps.Select(s => s.Number));
        return new ReadmeTour(steps);
    }

    /// <summary>The JSON body a curl command sends (<c>-d '…'</c>).</summary>
    public static JsonElement Body(string curl)
    {
        var m = DataArgument().Match(curl);
        Assert.True(m.Success, $"The README's curl sends no -d '…' body: {curl}");
        return JsonDocument.Parse(m.Groups[1].Value).RootElement.Clone();
    }

    [GeneratedRegex(@"^(\d+)\. \*\*(.+?)\.\*\*")]
    private static partial Regex StepLine();

    [GeneratedRegex(@"```(?:bash|sh)?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"-d '([^']*)'", RegexOptions.Singleline)]
    private static partial Regex DataArgument();
}
