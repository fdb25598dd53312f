namespace FlagAnalyzer.Api.Evaluation.JsonLogic;

/// <summary>A compiled JSONLogic expression. Evaluation is pure and never throws for any context.</summary>
public abstract class Node
{
    public abstract object? Evaluate(in Scope scope);

    /// <summary>The value when the node is a constant, so operators can pre-compute at compile time.</summary>
    public virtual bool IsConstant => false;
}

public sealed class Literal(object? value) : Node
{
    public object? Value { get; } = value;
    public override object? Evaluate(in Scope scope) => Value;
    public override bool IsConstant => true;
}

/// <summary>An array whose elements are expressions, e.g. <c>["a", {"var": "x"}]</c>.</summary>
public sealed class ArrayNode(Node[] items) : Node
{
    public Node[] Items { get; } = items;

    public override object? Evaluate(in Scope scope)
    {
        var result = new object?[Items.Length];
        for (var i = 0; i < Items.Length; i++) result[i] = Items[i].Evaluate(scope);
        return result;
    }
}

/// <summary><c>{"var": "a.b"}</c> / <c>{"var": ["a.b", default]}</c>; <c>$flagd.flagKey</c> and <c>$flagd.timestamp</c> come from the scope.</summary>
public sealed class Var : Node
{
    private readonly string[]? _path;
    private readonly Node? _dynamicPath;
    private readonly Node? _default;

    public Var(Node path, Node? fallback)
    {
        _default = fallback;
        if (path is Literal { Value: string s }) _path = Split(s);
        else if (path is Literal { Value: double d }) _path = [Values.NumberText(d)];
        else if (path is Literal { Value: null }) _path = [];
        else _dynamicPath = path;
    }

    private static string[] Split(string s) => s.Length == 0 ? [] : s.Split('.');

    public override object? Evaluate(in Scope scope)
    {
        var path = _path ?? Split(Values.ToText(_dynamicPath!.Evaluate(scope)));
        if (path.Length == 0) return scope.Data;
        if (path[0] == "$flagd" && path.Length == 2)
        {
            if (path[1] == "flagKey") return scope.FlagKey;
            if (path[1] == "timestamp") return (double)scope.Clock.GetUtcNow().ToUnixTimeSeconds();
        }
        object? current = scope.Data;
        foreach (var segment in path)
        {
            current = current switch
            {
                IReadOnlyDictionary<string, object?> o => o.TryGetValue(segment, out var v) ? v : null,
                object?[] a when int.TryParse(segment, out var i) && i >= 0 && i < a.Length => a[i],
                _ => null,
            };
            if (current is null) break;
        }
        return current ?? _default?.Evaluate(scope);
    }
}
