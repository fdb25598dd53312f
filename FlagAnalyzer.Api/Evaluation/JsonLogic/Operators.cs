namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary><c>==</c>, <c>!=</c>, <c>===</c>, <c>!==</c>.</summary>
public sealed class Equality(Node left, Node right, bool strict, bool negate) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        var a = left.Evaluate(scope);
        var b = right.Evaluate(scope);
        var equal = strict ? Values.StrictEquals(a, b) : Values.LooseEquals(a, b);
        return Values.Bool(equal != negate);
    }
}

/// <summary><c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>; <c>&lt;</c> and <c>&lt;=</c> with three arguments test "between".</summary>
public sealed class Relation(string op, Node[] args) : Node
{
    private bool Holds(object? a, object? b)
    {
        if (Values.Compare(a, b) is not { } c) return false;
        return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
    }

    public override object? Evaluate(in Scope scope)
    {
        var a = args[0].Evaluate(scope);
        var b = args[1].Evaluate(scope);
        if (!Holds(a, b)) return Values.False;
        return Values.Bool(args.Length < 3 || Holds(b, args[2].Evaluate(scope)));
    }
}

/// <summary><c>in</c>: substring of a string, or strict membership in an array.</summary>
public sealed class In(Node needle, Node haystack) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        var n = needle.Evaluate(scope);
        return haystack.Evaluate(scope) switch
        {
            string s => Values.Bool(s.Contains(Values.ToText(n), StringComparison.Ordinal)),
            object?[] a => Values.Bool(Contains(a, n)),
            _ => Values.False,
        };
    }

    private static bool Contains(object?[] items, object? needle)
    {
        foreach (var item in items)
            if (Values.StrictEquals(item, needle)) return true;
        return false;
    }
}

/// <summary><c>and</c> / <c>or</c>: JSONLogic returns the deciding operand, not a boolean.</summary>
public sealed class Logical(bool isAnd, Node[] args) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        object? last = null;
        foreach (var arg in args)
        {
            last = arg.Evaluate(scope);
            if (Values.Truthy(last) != isAnd) return last;
        }
        return last;
    }
}

/// <summary><c>!</c> and <c>!!</c>.</summary>
public sealed class Not(Node arg, bool twice) : Node
{
    public override object? Evaluate(in Scope scope) => Values.Bool(Values.Truthy(arg.Evaluate(scope)) == twice);
}

/// <summary><c>if</c> (and its alias <c>?:</c>): condition, then, [condition, then, …], [else].</summary>
public sealed class If(Node[] args) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        var i = 0;
        for (; i + 1 < args.Length; i += 2)
            if (Values.Truthy(args[i].Evaluate(scope))) return args[i + 1].Evaluate(scope);
        return i < args.Length ? args[i].Evaluate(scope) : null;
    }
}

public sealed class Cat(Node[] args) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        if (args.Length == 1) return Values.ToText(args[0].Evaluate(scope));
        var parts = new string[args.Length];
        for (var i = 0; i < args.Length; i++) parts[i] = Values.ToText(args[i].Evaluate(scope));
        return string.Concat(parts);
    }
}

/// <summary><c>substr</c>: [text, start, length?]; a negative start counts from the end, a negative length drops from the end.</summary>
public sealed class Substr(Node[] args) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        var text = Values.ToText(args[0].Evaluate(scope));
        var start = args.Length > 1 ? Values.ToNumber(args[1].Evaluate(scope)) : 0;
        var from = double.IsNaN(start) ? 0 : start < 0 ? Math.Max(0, text.Length + (int)start) : Math.Min(text.Length, (int)start);
        var rest = text[from..];
        if (args.Length < 3) return rest;
        var length = Values.ToNumber(args[2].Evaluate(scope));
        if (double.IsNaN(length)) return "";
        var take = length < 0 ? Math.Max(0, rest.Length + (int)length) : Math.Min(rest.Length, (int)length);
        return rest[..take];
    }
}

/// <summary>flagd's <c>starts_with</c> / <c>ends_with</c>: both operands must be strings, else the result is null (falsy).</summary>
public sealed class StartsOrEndsWith(Node value, Node target, bool startsWith) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        if (value.Evaluate(scope) is not string v || target.Evaluate(scope) is not string t) return null;
        return Values.Bool(startsWith ? v.StartsWith(t, StringComparison.Ordinal) : v.EndsWith(t, StringComparison.Ordinal));
    }
}

/// <summary>flagd's <c>sem_ver</c>: [version, operator, version]; an unparsable version or operator gives null (falsy).</summary>
public sealed class SemVerNode(Node left, Node op, Node right) : Node
{
    public override object? Evaluate(in Scope scope)
    {
        if (!SemVer.TryParse(left.Evaluate(scope), out var a) || !SemVer.TryParse(right.Evaluate(scope), out var b)) return null;
        return op.Evaluate(scope) is string o && SemVer.TryApply(o, a, b, out var result) ? Values.Bool(result) : null;
    }
}
