using System.Buffers;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// A request body read whole into a buffer rented from the shared pool, never past a byte limit; disposing returns
/// the buffer. Batch bodies run to hundreds of kilobytes: a fresh array (or a growing MemoryStream) for each would
/// land on the large-object heap every request and drive full collections.
/// </summary>
public sealed class PooledBody : IDisposable
{
    private byte[]? _buffer;

    private PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>
    /// Reads <paramref name="source"/> to its end, or returns null once it is longer than <paramref name="limit"/> bytes.
    /// <paramref name="declaredLength"/> (the Content-Length, when the bytes are not inflated on the way) sizes the first buffer.
    /// </summary>
    public static async Task<PooledBody?> ReadAsync(Stream source, int limit, long? declaredLength, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(declaredLength is > 0 and < 1 << 24 ? (int)declaredLength + 1 : 64 * 1024);
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
            var result = new PooledBody(buffer, length);
            buffer = null;
            return result;
        }
        catch
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        if (_buffer is { } b) ArrayPool<byte>.Shared.Return(b);
        _buffer = null;
    }
}
