using System.Text.Json;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;

namespace FlagAnalyzer.Api.Common;

public static class Json
{
    /// <summary>The API's wire format: camelCase, ISO-8601 times, nulls kept so every field is always present.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.NumberHandling = JsonNumberHandling.Strict;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        return o;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>
    /// Whether <paramref name="e"/> is System.Text.Json refusing the text of a request: a string escape that is not
    /// Unicode (a lone surrogate, <c>"\ud800"</c>), met when a <see cref="JsonElement"/> or a reader decodes it. The
    /// serializer turns these into <see cref="JsonException"/> itself (it recognises them by this source mark); code
    /// that reads elements sees the <see cref="InvalidOperationException"/>. The client's mistake: a 400, not a 500.
    /// </summary>
    public static bool IsInvalidText(Exception e) => e is InvalidOperationException { Source: "System.Text.Json.Rethrowable" };

    /// <summary>
    /// For request bodies: a <see cref="JsonElement"/> (a flag's variants and targeting, an import file, a change's values)
    /// is read as usual, then refused with a <see cref="JsonException"/> — a 400 naming the field — when one of its
    /// strings or property names is not Unicode text. Bound typed fields get that from the serializer itself; an element
    /// keeps the escape until someone decodes it, which was a 500 deep inside a write (issue 23).
    /// </summary>
    public static readonly JsonConverter<JsonElement> TextCheckedElements = new TextCheckedElementConverter();

    private sealed class TextCheckedElementConverter : JsonConverter<JsonElement>
    {
        public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var element = JsonElement.ParseValue(ref reader);
            return IsText(element) ? element : throw new JsonException("A string is not Unicode text (a lone surrogate such as \\ud800).");
        }

        public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);
    }

    /// <summary>Whether every string and property name in <paramref name="e"/> decodes; only escaped ones are decoded to find out.</summary>
    private static bool IsText(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                    if (!Decodes(JsonMarshal.GetRawUtf8PropertyName(p), () => p.Name) || !IsText(p.Value)) return false;
                return true;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) if (!IsText(item)) return false;
                return true;
            case JsonValueKind.String:
                return Decodes(JsonMarshal.GetRawUtf8Value(e), () => e.GetString());
            default:
                return true;
        }
    }

    private static bool Decodes(ReadOnlySpan<byte> raw, Func<string?> decode)
    {
        if (raw.IndexOf((byte)'\\') < 0) return true;
        try
        {
            decode();
            return true;
        }
        catch (InvalidOperationException e) when (IsInvalidText(e))
        {
            return false;
        }
    }

    public static T? Deserialize<T>(string? json) =>
        string.IsNullOrEmpty(json) ? default : JsonSerializer.Deserialize<T>(json, Options);
}
