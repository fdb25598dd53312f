using System.Buffers;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>The two OTLP/HTTP encodings.</summary>
public enum OtlpEncoding
{
    Protobuf,
    Json,
}

/// <summary>Reads an OTLP/HTTP request body into a pooled buffer, inflating gzip, never past a byte limit.</summary>
public sealed class OtlpBody : IDisposable
{
    private byte[]? _buffer;

    private OtlpBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

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
        OtlpBody? body;
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
                                          or System.Text.Json.JsonException or FormatException)
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
    public static async Task<OtlpBody?> ReadAsync(Stream body, bool gzip, int limit, long? declaredLength, CancellationToken ct)
    {
        Stream source = gzip ? new GZipStream(body, CompressionMode.Decompress, leaveOpen: true) : body;
        var buffer = ArrayPool<byte>.Shared.Rent(declaredLength is > 0 and < 1 << 24 && !gzip ? (int)declaredLength + 1 : 64 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit) break;
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1L));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await source.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit + 1) - length), ct);
                if (read == 0) break;
                length += read;
                if (length > limit) break;
            }
            if (length > limit)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return null;
            }
            var result = new OtlpBody(buffer, length);
            buffer = null;
            return result;
        }
        catch
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        finally
        {
            if (gzip) await source.DisposeAsync();
        }
    }

    public void Dispose()
    {
        if (_buffer is { } b) ArrayPool<byte>.Shared.Return(b);
        _buffer = null;
    }
}
