using System.Text.Json;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Evaluation.JsonLogic;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

public sealed class JsonLogicTests
{
    private static object? Run(string rule, object? data = null, string flagKey = "f")
    {
        var node = JsonLogicCompiler.Compile(Flags.Json(rule));
        var ctx = EvaluationContext.FromJson(JsonSerializer.SerializeToElement(data ?? new { }));
        return node.Evaluate(new Scope(ctx.Attributes, flagKey, TimeProvider.System));
    }

    [Theory]
    [InlineData("""{"==":[1,1]}""", true)]
    [InlineData("""{"==":[1,"1"]}""", true)]
    [InlineData("""{"==":[0,false]}""", true)]
    [InlineData("""{"==":[null,false]}""", false)]
    [InlineData("""{"===":[1,"1"]}""", false)]
    [InlineData("""{"!=":["a","b"]}""", true)]
    [InlineData("""{"!==":[1,1]}""", false)]
    [InlineData("""{"<":[1,2]}""", true)]
    [InlineData("""{"<":[1,2,3]}""", true)]
    [InlineData("""{"<":[1,3,2]}""", false)]
    [InlineData("""{"<=":[2,2]}""", true)]
    [InlineData("""{">":["b","a"]}""", true)]
    [InlineData("""{">=":[1,"x"]}""", false)]
    [InlineData("""{"in":["Spring","Springfield"]}""", true)]
    [InlineData("""{"in":["b",["a","b"]]}""", true)]
    [InlineData("""{"in":["c",["a","b"]]}""", false)]
    [InlineData("""{"!":[true]}""", false)]
    [InlineData("""{"!":[[]]}""", true)]
    [InlineData("""{"!!":["0"]}""", true)]
    [InlineData("""{"starts_with":["user@example.com","user"]}""", true)]
    [InlineData("""{"ends_with":["user@example.com","@example.com"]}""", true)]
    [InlineData("""{"ends_with":["user@example.com","@other.com"]}""", false)]
    public void Operators_GiveJsonLogicResults(string rule, bool expected) => Assert.Equal(expected, Run(rule));

    [Fact]
    public void AndOr_ReturnTheDecidingOperand()
    {
        Assert.Equal(0d, Run("""{"and":[true,0,"x"]}"""));
        Assert.Equal("x", Run("""{"and":[true,"x"]}"""));
        Assert.Equal("y", Run("""{"or":[false,"","y"]}"""));
    }

    [Fact]
    public void If_ChainsConditionsWithElse()
    {
        const string rule = """{"if":[{"<":[{"var":"age"},13]},"kid",{"<":[{"var":"age"},20]},"teen","adult"]}""";
        Assert.Equal("kid", Run(rule, new { age = 5 }));
        Assert.Equal("teen", Run(rule, new { age = 15 }));
        Assert.Equal("adult", Run(rule, new { age = 50 }));
        Assert.Null(Run("""{"if":[false,"x"]}"""));
    }

    [Fact]
    public void Var_ReadsNestedPathsDefaultsAndFlagdProperties()
    {
        Assert.Equal("ca", Run("""{"var":"user.country"}""", new { user = new { country = "ca" } }));
        Assert.Equal("b", Run("""{"var":"list.1"}""", new { list = new[] { "a", "b" } }));
        Assert.Equal("none", Run("""{"var":["missing","none"]}"""));
        Assert.Null(Run("""{"var":"missing.deeper"}"""));
        Assert.Equal("myFlag", Run("""{"var":"$flagd.flagKey"}""", flagKey: "myFlag"));
        var ts = (double)Run("""{"var":"$flagd.timestamp"}""")!;
        Assert.InRange(ts, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
    }

    [Fact]
    public void CatAndSubstr_WorkOnText()
    {
        Assert.Equal("I love pie 3", Run("""{"cat":["I love ",{"var":"food"}," ",3]}""", new { food = "pie" }));
        Assert.Equal("jsonlogic", Run("""{"substr":["jsonlogic",0]}"""));
        Assert.Equal("logic", Run("""{"substr":["jsonlogic",4]}"""));
        Assert.Equal("gic", Run("""{"substr":["jsonlogic",-3]}"""));
        Assert.Equal("son", Run("""{"substr":["jsonlogic",1,3]}"""));
        Assert.Equal("log", Run("""{"substr":["jsonlogic",4,-2]}"""));
    }

    [Fact]
    public void SemVer_InTargeting()
    {
        Assert.Equal(true, Run("""{"sem_ver":["1.0.0",">","0.1.0"]}"""));
        Assert.Equal(true, Run("""{"sem_ver":[{"var":"version"},">","1.0.0"]}""", new { version = "1.0.1" }));
        Assert.Equal(false, Run("""{"sem_ver":["1.0.0",">","1.0.0"]}"""));
        Assert.Null(Run("""{"sem_ver":[{"var":"version"},">","1.0.0"]}""", new { version = "not-a-version" }));
    }

    [Fact]
    public void StartsWith_OnNonStrings_IsNull() => Assert.Null(Run("""{"starts_with":[{"var":"n"},"1"]}""", new { n = 12 }));

    [Fact]
    public void Ref_IsReplacedByTheSharedEvaluator()
    {
        var evaluators = new Dictionary<string, JsonElement> { ["emailWithFaas"] = Flags.Json("""{"in":["@faas.com",{"var":"email"}]}""") };
        var node = JsonLogicCompiler.Compile(Flags.Json("""{"if":[{"$ref":"emailWithFaas"},"yes","no"]}"""), "targeting", evaluators);
        var ctx = EvaluationContext.FromJson(JsonSerializer.SerializeToElement(new { email = "ross@faas.com" }));
        Assert.Equal("yes", node.Evaluate(new Scope(ctx.Attributes, "f", TimeProvider.System)));
    }

    [Theory]
    [InlineData("""{"if":[true,{"nope":[1]}]}""", "targeting.if[1].nope")]
    [InlineData("""{"fractional":[["red",25],["blue",2.5]]}""", "targeting.fractional[1][1]")]
    [InlineData("""{"fractional":[{"var":"email"},"red"]}""", "targeting.fractional[1]")]
    [InlineData("""{"sem_ver":["1.0.0","~>","1.0.0"]}""", "targeting.sem_ver[1]")]
    [InlineData("""{"sem_ver":["one","=","1.0.0"]}""", "targeting.sem_ver[0]")]
    [InlineData("""{"==":[1]}""", "targeting.==")]
    [InlineData("""{"a":1,"b":2}""", "targeting")]
    [InlineData("""{"$ref":"missing"}""", "targeting.$ref")]
    public void Compile_BadNode_NamesItsPath(string rule, string path)
    {
        var ex = Assert.Throws<JsonLogicException>(() => JsonLogicCompiler.Compile(Flags.Json(rule)));
        Assert.Equal(path, ex.Path);
    }

    [Fact]
    public void Compile_SelfReferencingEvaluator_IsRefused()
    {
        var evaluators = new Dictionary<string, JsonElement> { ["loop"] = Flags.Json("""{"!":[{"$ref":"loop"}]}""") };
        Assert.Throws<JsonLogicException>(() => JsonLogicCompiler.Compile(Flags.Json("""{"$ref":"loop"}"""), "targeting", evaluators));
    }
}
