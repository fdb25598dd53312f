using System.Reflection;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Llm;

namespace FlagAnalyzer.Tests.Api.Llm;

/// <summary>PROMPTS.md quotes, verbatim, every text the product sends to a model (all of <see cref="Prompts"/>).</summary>
public sealed class PromptsDocumentTests
{
    public static TheoryData<string> PromptConstants()
    {
        var data = new TheoryData<string>();
        foreach (var f in typeof(Prompts).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
            data.Add(f.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(PromptConstants))]
    public void PromptsMd_QuotesThePromptVerbatim(string constant)
    {
        var text = (string)typeof(Prompts).GetField(constant)!.GetRawConstantValue()!;

        Assert.Contains(Normalise(text), Normalise(File.ReadAllText(PromptsMdPath())));
    }

    [Fact]
    public void Prompts_AreAllFound_SoTheTheoryCannotPassEmpty()
    {
        Assert.True(PromptConstants().Count >= 10);
    }

    private static string Normalise(string s) => s.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string PromptsMdPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlagAnalyzer.sln"))) return Path.Combine(dir.FullName, "PROMPTS.md");
        }
        throw new FileNotFoundException("FlagAnalyzer.sln not found above the test output");
    }
}
