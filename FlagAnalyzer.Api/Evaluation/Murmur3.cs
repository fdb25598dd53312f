using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain algorithm), seed 0 unless given: the hash
/// flagd's <c>fractional</c> applies to the UTF-8 bytes of the bucketing value. Allocation-free for inputs up to
/// 512 bytes.
/// </summary>
public static class Murmur3
{
    private const uint C1 = 0xcc9e2d51;
    private const uint C2 = 0x1b873593;
    private const int StackLimit = 512;

    public static uint Hash32(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var h = seed;
        var blocks = data.Length / 4;
        for (var i = 0; i < blocks; i++)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4, 4));
            h ^= Mix(k);
            h = BitOperations.RotateLeft(h, 13);
            h = h * 5 + 0xe6546b64;
        }

        var tail = data[(blocks * 4)..];
        uint t = 0;
        switch (tail.Length)
        {
            case 3: t ^= (uint)tail[2] << 16; goto case 2;
            case 2: t ^= (uint)tail[1] << 8; goto case 1;
            case 1: t ^= tail[0]; h ^= Mix(t); break;
        }

        h ^= (uint)data.Length;
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }

    private static uint Mix(uint k)
    {
        k *= C1;
        k = BitOperations.RotateLeft(k, 15);
        return k * C2;
    }

    /// <summary>The hash of the UTF-8 bytes of <paramref name="first"/> followed by <paramref name="second"/>.</summary>
    public static uint Hash32(string first, string second = "")
    {
        var max = Encoding.UTF8.GetMaxByteCount(first.Length + second.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = Encoding.UTF8.GetBytes(first, buffer);
            n += Encoding.UTF8.GetBytes(second, buffer[n..]);
            return Hash32(buffer[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
