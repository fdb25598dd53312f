using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Common;

/// <summary>Collects field errors (keyed by camelCase JSON path) for one request.</summary>
public sealed class Validator
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public int ErrorCount => _errors.Count;

    public Validator Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    public Validator Require(bool condition, string field, string message) => condition ? this : Add(field, message);

    public Validator Range(double? value, double min, double max, string field)
    {
        if (value is { } v && (double.IsNaN(v) || v < min || v > max))
            Add(field, $"must be between {min} and {max}");
        return this;
    }

    public IReadOnlyDictionary<string, string[]> Errors => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    public ValidationProblem ToProblem() => TypedResults.ValidationProblem(Errors, title: "The request is invalid");
}
