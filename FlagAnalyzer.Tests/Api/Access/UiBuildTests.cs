using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Ui;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>The UI's Content-Security-Policy allows scripts from files only; the build must not need more.</summary>
public sealed class UiBuildTests
{
    [Fact]
    public void BuiltIndexHtml_HasNoInlineScript()
    {
        var root = UiExtensions.FindBuild(Path.Combine(Web.RepoPaths.Root, "FlagAnalyzer.Api"));
        Assert.True(root is not null, "The web UI is not built: build FlagAnalyzer.Api without -p:SkipWebUi=true.");
        var html = File.ReadAllText(Path.Combine(root, "index.html"));

        var scripts = Regex.Matches(html, @"<script\b([^>]*)>(.*?)</script>", RegexOptions.Singleline | RegexOptions.IgnoreCase);
        Assert.NotEmpty(scripts);
        Assert.All(scripts, s =>
        {
            Assert.Contains("src=", s.Groups[1].Value);
            Assert.True(string.IsNullOrWhiteSpace(s.Groups[2].Value), "inline script: " + s.Value);
        });
        Assert.DoesNotMatch(@"\son[a-z]+\s*=", html); // no inline event handlers either
    }
}
