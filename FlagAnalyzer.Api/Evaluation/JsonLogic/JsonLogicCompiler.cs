using System.Text.Json;

namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary>A rule that cannot be compiled; <see cref="Path"/> names the bad node, e.g. <c>targeting.if[1].fractional[2]</c>.</summary>
public sealed class JsonLogicException(string path, string message) : Exception($"{path}: {message}")
{
    public string Path { get; } = path;
    public string Reason { get; } = message;
}

/// <summary>
/// Compiles flagd targeting (JSONLogic plus flagd's operators) into a <see cref="Node"/> tree once, when a flag
/// is saved or loaded, so that evaluation neither parses nor fails on shape. <c>{"$ref": "name"}</c> is replaced
/// by the shared evaluator of that name, as flagd's <c>$evaluators</c> are.
/// </summary>
public sealed class JsonLogicCompiler
{
    private const int MaxDepth = 64;

    /// <summary>
    /// The most nodes one flag's targeting may have once every <c>$ref</c> is expanded. Shared evaluators that refer
    /// to each other multiply (ten refs to an evaluator of ten refs, five deep, is 10^5 copies from under 1 KB), so
    /// the count stops compiling as soon as it is passed, not after the expansion.
    /// </summary>
    public const int MaxNodes = 100_000;

    /// <summary>The most bytes of JSON one flag's targeting may expand to (a request body's limit: nothing saved is larger).</summary>
    public const long MaxExpandedBytes = 1024 * 1024;

    private readonly IReadOnlyDictionary<string, JsonElement> _evaluators;
    private readonly HashSet<string> _expanding = new(StringComparer.Ordinal);
    // the evaluators being expanded, outermost first: a bound passed inside them is reported on the outermost
    private readonly List<string> _chain = [];
    private readonly Dictionary<string, long> _evaluatorBytes = new(StringComparer.Ordinal);
    private readonly string _root;
    private int _nodes;
    private long _bytes;

    private JsonLogicCompiler(IReadOnlyDictionary<string, JsonElement>? evaluators, string root)
    {
        _evaluators = evaluators ?? new Dictionary<string, JsonElement>();
        _root = root;
    }

    /// <summary>Compiles <paramref name="rule"/>; throws <see cref="JsonLogicException"/> naming the bad node.</summary>
    public static Node Compile(JsonElement rule, string path = "targeting", IReadOnlyDictionary<string, JsonElement>? evaluators = null) =>
        Compile(rule, path, evaluators, out _);

    /// <param name="fractionals">every <c>fractional</c> in the rule with its path, so callers can check the variant names it serves</param>
    public static Node Compile(JsonElement rule, string path, IReadOnlyDictionary<string, JsonElement>? evaluators,
        out IReadOnlyList<(string Path, Fractional Node)> fractionals)
    {
        var compiler = new JsonLogicCompiler(evaluators, path);
        compiler._bytes = RawLength(rule);
        if (compiler._bytes > MaxExpandedBytes) throw Error(path, $"is larger than {MaxExpandedBytes} bytes");
        var node = compiler.Node(rule, path, 0);
        fractionals = compiler._fractionals;
        return node;
    }

    private readonly List<(string, Fractional)> _fractionals = [];

    private static JsonLogicException Error(string path, string message) => new(path, message);

    private static long RawLength(JsonElement e) => System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(e).Length;

    /// <summary>A size bound passed: named on the outermost evaluator being expanded, else on the targeting itself.</summary>
    private JsonLogicException TooLarge(string what) => _chain.Count == 0
        ? Error(_root, $"has more than {what}")
        : Error($"$evaluators.{_chain[0]}", $"expands to more than {what} of targeting through $ref {string.Join(" → ", _chain)}");

    private Node Node(JsonElement e, string path, int depth)
    {
        if (depth > MaxDepth) throw Error(path, $"is nested more than {MaxDepth} levels deep");
        if (++_nodes > MaxNodes) throw TooLarge($"{MaxNodes} nodes");
        switch (e.ValueKind)
        {
            case JsonValueKind.Array:
                var items = e.EnumerateArray().Select((x, i) => Node(x, $"{path}[{i}]", depth + 1)).ToArray();
                return items.All(i => i.IsConstant)
                    ? new Literal(items.Select(i => ((Literal)i).Value).ToArray())
                    : new ArrayNode(items);
            case JsonValueKind.Object:
                return Operation(e, path, depth);
            default:
                return new Literal(Values.FromJson(e));
        }
    }

    private Node Operation(JsonElement e, string path, int depth)
    {
        var all = e.EnumerateObject().ToArray();
        if (all.Length != 1) throw Error(path, "an operation is an object with exactly one operator key");
        var (op, value) = (all[0].Name, all[0].Value);
        var at = $"{path}.{op}";

        if (op == "$ref")
        {
            if (value.ValueKind != JsonValueKind.String) throw Error(at, "must name a shared evaluator");
            var name = value.GetString()!;
            if (!_evaluators.TryGetValue(name, out var shared)) throw Error(at, $"no evaluator named '{name}' in $evaluators");
            if (!_expanding.Add(name)) throw Error(at, $"evaluator '{name}' refers to itself");
            _chain.Add(name);
            // counted before the copy is compiled, so a reference that would pass the bound stops here
            if (!_evaluatorBytes.TryGetValue(name, out var size)) _evaluatorBytes[name] = size = RawLength(shared);
            if ((_bytes += size) > MaxExpandedBytes) throw TooLarge($"{MaxExpandedBytes} bytes");
            try { return Node(shared, $"$evaluators.{name}", depth + 1); }
            finally
            {
                _expanding.Remove(name);
                _chain.RemoveAt(_chain.Count - 1);
            }
        }

        // a single non-array operand is shorthand for a one-element list, as in JSONLogic
        var raw = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToArray() : [value];
        Node[] Args() => raw.Select((x, i) => Node(x, $"{at}[{i}]", depth + 1)).ToArray();
        Node[] Arity(int min, int max)
        {
            if (raw.Length < min || raw.Length > max)
                throw Error(at, min == max ? $"takes {min} argument(s), got {raw.Length}" : $"takes {min} to {max} arguments, got {raw.Length}");
            return Args();
        }

        switch (op)
        {
            case "var":
                var v = Arity(0, 2);
                return new Var(v.Length > 0 ? v[0] : new Literal(""), v.Length > 1 ? v[1] : null);
            case "==": { var a = Arity(2, 2); return new Equality(a[0], a[1], strict: false, negate: false); }
            case "!=": { var a = Arity(2, 2); return new Equality(a[0], a[1], strict: false, negate: true); }
            case "===": { var a = Arity(2, 2); return new Equality(a[0], a[1], strict: true, negate: false); }
            case "!==": { var a = Arity(2, 2); return new Equality(a[0], a[1], strict: true, negate: true); }
            case "<" or "<=": return new Relation(op, Arity(2, 3));
            case ">" or ">=": return new Relation(op, Arity(2, 2));
            case "in": { var a = Arity(2, 2); return new In(a[0], a[1]); }
            case "and": return new Logical(isAnd: true, Arity(1, int.MaxValue));
            case "or": return new Logical(isAnd: false, Arity(1, int.MaxValue));
            case "!": return new Not(Arity(1, 1)[0], twice: false);
            case "!!": return new Not(Arity(1, 1)[0], twice: true);
            case "if" or "?:": return new If(Args());
            case "cat": return new Cat(Args());
            case "substr": return new Substr(Arity(1, 3));
            case "starts_with": { var a = Arity(2, 2); return new StartsOrEndsWith(a[0], a[1], startsWith: true); }
            case "ends_with": { var a = Arity(2, 2); return new StartsOrEndsWith(a[0], a[1], startsWith: false); }
            case "sem_ver":
            {
                var a = Arity(3, 3);
                if (a[1] is Literal { Value: var o } && !(o is string s && SemVer.IsOperator(s)))
                    throw Error($"{at}[1]", "must be one of = != < <= > >= ^ ~");
                foreach (var i in new[] { 0, 2 })
                    if (a[i] is Literal { Value: var lit } && !SemVer.TryParse(lit, out _))
                        throw Error($"{at}[{i}]", $"'{Values.ToText(lit)}' is not a semantic version");
                return new SemVerNode(a[0], a[1], a[2]);
            }
            case "fractional": return Fractional(raw, at, depth);
            default:
                throw Error(at, $"unknown operator '{op}'");
        }
    }

    private Fractional Fractional(JsonElement[] raw, string at, int depth)
    {
        if (raw.Length == 0) throw Error(at, "needs at least one [variant, weight] distribution");
        Node? bucketBy = null;
        var first = 0;
        if (raw[0].ValueKind != JsonValueKind.Array)
        {
            bucketBy = Node(raw[0], $"{at}[0]", depth + 1);
            first = 1;
        }
        if (raw.Length == first) throw Error(at, "needs at least one [variant, weight] distribution");

        var variants = new List<Node>();
        var weights = new List<int>();
        long total = 0;
        for (var i = first; i < raw.Length; i++)
        {
            var path = $"{at}[{i}]";
            if (raw[i].ValueKind != JsonValueKind.Array || raw[i].GetArrayLength() is 0 or > 2)
                throw Error(path, "a distribution is [variant] or [variant, weight]");
            var parts = raw[i].EnumerateArray().ToArray();
            var variant = Node(parts[0], $"{path}[0]", depth + 1);
            if (variant is Literal { Value: not (string or bool or double or null) })
                throw Error($"{path}[0]", "a variant must be a string, boolean, number or null");
            long weight = 1;
            if (parts.Length == 2 && parts[1].ValueKind != JsonValueKind.Null)
            {
                if (parts[1].ValueKind != JsonValueKind.Number || !parts[1].TryGetDouble(out var w) || w != Math.Floor(w))
                    throw Error($"{path}[1]", "a weight must be a whole number");
                if (w > int.MaxValue) throw Error($"{path}[1]", $"a weight may be at most {int.MaxValue}");
                weight = Math.Max(0, (long)w);
            }
            total += weight;
            variants.Add(variant);
            weights.Add((int)weight);
        }
        if (total > int.MaxValue) throw Error(at, $"the weights sum to {total}, more than {int.MaxValue}");
        var node = new Fractional(bucketBy, [.. variants], [.. weights], first);
        _fractionals.Add((at, node));
        return node;
    }
}
