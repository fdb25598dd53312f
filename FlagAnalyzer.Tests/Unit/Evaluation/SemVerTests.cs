using System.Text.Json;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Evaluation.JsonLogic;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>
/// flagd's <c>sem_ver</c> vectors, pinned from open-feature/flagd core/pkg/evaluator/semver_test.go
/// (TestSemVerOperator_Compare, commit bbb05d4bc3903ea8bf5123a88b1cf558750a22ab). Where flagd's vector says
/// <c>wantErr: true</c> the expected result here is null: an error, told apart from a comparison that is false. In
/// flagd's evaluator an error makes <c>sem_ver</c> evaluate to nil (TestJSONEvaluator_semVerEvaluation, "error during
/// parsing … - return default": the <c>if</c> takes its else branch); ours gives null the same way.
/// </summary>
public sealed class SemVerTests
{
    [Theory]
    [InlineData("invalid", ">", "v1.0.0", null)]
    [InlineData("v1.0.0-preview.1.2", ">", "v1.0.0", false)]
    [InlineData("v1.0.0-preview.1.3", ">", "v1.0.0-preview.1.2", true)]
    [InlineData("0.0.1", ">", "v0.0.2", false)]
    [InlineData("v0.0.1", ">", "0.0.2", false)]
    [InlineData("v0.0.1", "=", "0.0.1", true)]
    [InlineData("V1.0.0", "=", "1.0.0", true)]
    [InlineData("0.0.1", ">", "0.0.2", false)]
    [InlineData("v0.0.1", "", "v0.0.2", null)]
    [InlineData("v1234.0.1", "<", "v1235.0.2", true)]
    [InlineData("v0.0.1", "<", "v0.0.2", true)]
    [InlineData("v1.0", "<", "v1.2", true)]
    [InlineData("v0.0.1", "<", "v0.0.1", false)]
    [InlineData("v0.0.1", "<=", "v0.0.2", true)]
    [InlineData("v0.0.1", "<=", "v0.0.1", true)]
    [InlineData("v0.0.1", "=", "v0.0.1", true)]
    [InlineData("v0.0.2", "=", "v0.0.1", false)]
    [InlineData("v0.0.2", "!=", "v0.0.1", true)]
    [InlineData("v0.0.1", "!=", "v0.0.1", false)]
    [InlineData("v0.0.2", ">=", "v0.0.1", true)]
    [InlineData("v0.0.1", ">=", "v0.0.1", true)]
    [InlineData("v0.0.1", ">=", "v0.0.2", false)]
    [InlineData("v0.0.2", ">", "v0.0.1", true)]
    [InlineData("v0.0.1", ">", "v0.0.1", false)]
    [InlineData("v1.3.4", "^", "v1.5.3", true)]
    [InlineData("v2.1.1", "^", "v1.1.1", false)]
    [InlineData("v1.3.4", "~", "v1.3.1", true)]
    [InlineData("v2.2.1", "~", "v2.1.1", false)]
    public void Compare_FlagdVectors(string left, string op, string right, bool? expected)
    {
        bool? compared = SemVer.TryParse(left, out var a) && SemVer.TryParse(right, out var b) && SemVer.TryApply(op, a, b, out var r) ? r : null;
        Assert.Equal(expected, compared);

        // the evaluator's operator, with every operand from the context (literals are checked when the flag is saved)
        var node = JsonLogicCompiler.Compile(Flags.Json("""{"sem_ver":[{"var":"left"},{"var":"op"},{"var":"right"}]}"""));
        var context = EvaluationContext.FromJson(JsonSerializer.SerializeToElement(new { left, op, right }));
        Assert.Equal(expected, node.Evaluate(new Scope(context.Attributes, "f", TimeProvider.System)));
    }

    [Theory]
    [InlineData("1.0.0-alpha", "1.0.0-alpha.1")]
    [InlineData("1.0.0-alpha.1", "1.0.0-alpha.beta")]
    [InlineData("1.0.0-beta.2", "1.0.0-beta.11")]
    [InlineData("1.0.0-rc.1", "1.0.0")]
    public void PreRelease_PrecedenceFollowsSemverOrg(string lower, string higher)
    {
        Assert.True(SemVer.TryParse(lower, out var a));
        Assert.True(SemVer.TryParse(higher, out var b));
        Assert.True(SemVer.Compare(a, b) < 0);
    }

    [Fact]
    public void BuildMetadata_IsIgnored()
    {
        Assert.True(SemVer.TryParse("1.2.3+build.5", out var a));
        Assert.True(SemVer.TryParse("1.2.3", out var b));
        Assert.Equal(0, SemVer.Compare(a, b));
    }
}
