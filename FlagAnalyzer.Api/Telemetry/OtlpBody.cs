using System.IO.Compression;
using FlagAnalyzer.Api.Common;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>The two OTLP/HTTP encodings.</summary>
public enum OtlpEncoding
{
    Protobuf,
    Json,
}

/// <summary>The checks and decoding every OTLP/HTTP request body gets; the bytes are read by <see cref="PooledBody"/>.</summary>
public static class OtlpBody
{
    /// <summary>
    /// The checks every OTLP/HTTP export gets before its content is used: a supported content type (415) and encoding
    /// (415), a body within the limits (413; a corrupt gzip 400), and a body that decodes as <paramref name="what"/>
    /// (400). Returns the answer to give instead, or the decoded message.
    /// </summary>
    public static async Task<(IntakeResult? Refusal, T? Message)> ReadExportAsync<T>(HttpRequest request, int maxDecompressedBytes,
        Func<ReadOnlySpan<byte>, OtlpEncoding, T> decode, string what, CancellationToken ct) where T : class
    {
        if (EncodingOf(request.ContentType) is not { } encoding)
            return (new IntakeResult(StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/x-protobuf or application/json."), null);
        if (!IsSupportedContentEncoding(request.Headers.ContentEncoding, out var gzip))
            return (new IntakeResult(StatusCodes.Status415UnsupportedMediaType, "Content-Encoding must be gzip or none."), null);
        PooledBody? body;
        try
        {
            body = await ReadAsync(request.Body, gzip, maxDecompressedBytes, request.ContentLength, ct);
        }
        catch (InvalidDataException)
        {
            return (new IntakeResult(StatusCodes.Status400BadRequest, "The gzip body is corrupt."), null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            return (new IntakeResult(StatusCodes.Status413PayloadTooLarge, $"The body is larger than {limit} bytes."), null);
        }
        if (body is null)
            return (new IntakeResult(StatusCodes.Status413PayloadTooLarge, $"The body inflates to more than {maxDecompressedBytes} bytes."), null);
        using (body)
        {
            try
            {
                return (null, decode(body.Span, encoding));
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or OtlpDecodeException
                                          or System.Text.Json.JsonException or FormatException || Json.IsInvalidText(e))
            {
                return (new IntakeResult(StatusCodes.Status400BadRequest, $"The body is not an OTLP {what} ({encoding}): {e.Message}"), null);
            }
        }
    }

    public static OtlpEncoding? EncodingOf(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return null;
        var media = contentType.AsSpan();
        var semicolon = media.IndexOf(';');
        if (semicolon >= 0) media = media[..semicolon];
        media = media.Trim();
        if (media.Equals("application/x-protobuf", StringComparison.OrdinalIgnoreCase)) return OtlpEncoding.Protobuf;
        if (media.Equals("application/json", StringComparison.OrdinalIgnoreCase)) return OtlpEncoding.Json;
        return null;
    }

    /// <summary>True for no encoding or gzip, the ones OTLP/HTTP uses.</summary>
    public static bool IsSupportedContentEncoding(string? encoding, out bool gzip)
    {
        gzip = string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase);
        return gzip || string.IsNullOrEmpty(encoding) || string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The body, or null when it (inflated) is longer than <paramref name="limit"/> bytes.</summary>
    /// <exception cref="InvalidDataException">The gzip stream is corrupt.</exception>
    public static async Task<PooledBody?> ReadAsync(Stream body, bool gzip, int limit, long? declaredLength, CancellationToken ct)
    {
        if (!gzip) return await PooledBody.ReadAsync(body, limit, declaredLength, ct);
        await using var inflated = new GZipStream(body, CompressionMode.Decompress, leaveOpen: true);
        return await PooledBody.ReadAsync(inflated, limit, declaredLength: null, ct);
    }
}
