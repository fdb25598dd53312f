using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace FlagAnalyzer.Api.Extensions;

/// <summary>
/// Makes <c>/openapi/v1.json</c> say what the wire says, since the web client's types are generated from it
/// (FlagAnalyzer.Web/src/api/openapi.json, checked by FlagAnalyzer.Tests/Web/OpenApiContractTests):
/// <list type="bullet">
/// <item>a response's properties are all required: the API writes every property, nulls included (<c>Json</c>);</item>
/// <item>a request body's properties are all optional: an absent field binds as null and validation names it;</item>
/// <item>a <c>JsonObject</c> (a prediction's evidence) and a change's previous and new values are JSON objects;</item>
/// </list>
/// The closed sets (severity, change type, …) are C# enums with their words in <c>[JsonStringEnumMemberName]</c>, which
/// the generator lists by itself as one component schema per enum; here each becomes a plain string enum — the
/// generator names the schema after whichever use it met first, and a nullable first use (<c>Severity?</c>) would put
/// <c>null</c> among the words of every use (nullable uses say so themselves, with <c>oneOf</c>).
/// </summary>
internal sealed class OpenApiWireShapes : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        if (document.Components?.Schemas is not { } schemas) return Task.CompletedTask;

        var inputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
            foreach (var media in operation.RequestBody?.Content?.Values ?? [])
                CollectReferences(media.Schema, schemas, inputs);

        foreach (var (name, s) in schemas)
        {
            if (s is not OpenApiSchema { Properties.Count: > 0 } schema) continue;
            schema.Required = inputs.Contains(name) ? null : new HashSet<string>(schema.Properties.Keys, StringComparer.Ordinal);
        }

        foreach (var s in schemas.Values)
        {
            if (s is not OpenApiSchema { Enum.Count: > 0 } words || words.Properties is { Count: > 0 }) continue;
            words.Enum = [.. words.Enum.Where(w => w is not null && w.GetValueKind() != System.Text.Json.JsonValueKind.Null)];
            words.Type = JsonSchemaType.String;
        }
        if (schemas.TryGetValue("JsonObject", out var jsonObject) && jsonObject is OpenApiSchema o)
        {
            o.Type = JsonSchemaType.Object;
            o.AdditionalProperties = new OpenApiSchema();
        }
        if (schemas.TryGetValue(nameof(FlagChange), out var flagChange) && flagChange is OpenApiSchema { Properties: { } values })
        {
            foreach (var name in new[] { nameof(FlagChange.PreviousValue), nameof(FlagChange.NewValue) })
                values[JsonName(name)] = new OpenApiSchema
                {
                    OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = new OpenApiSchema() }],
                };
        }
        return Task.CompletedTask;
    }

    private static string JsonName(string property) => Common.Json.Options.PropertyNamingPolicy!.ConvertName(property);

    /// <summary>The component schemas a schema uses, transitively.</summary>
    private static void CollectReferences(IOpenApiSchema? schema, IDictionary<string, IOpenApiSchema> schemas, HashSet<string> found)
    {
        switch (schema)
        {
            case null:
                return;
            case OpenApiSchemaReference { Reference.Id: { } id }:
                if (found.Add(id) && schemas.TryGetValue(id, out var target)) CollectReferences(target, schemas, found);
                return;
        }
        foreach (var inner in (schema.Properties?.Values ?? []).Concat(schema.OneOf ?? []).Concat(schema.AnyOf ?? [])
                     .Concat(schema.AllOf ?? []).Append(schema.Items).Append(schema.AdditionalProperties))
            CollectReferences(inner, schemas, found);
    }
}
