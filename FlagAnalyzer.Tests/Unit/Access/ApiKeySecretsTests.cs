using System.Security.Cryptography;
using System.Text;
using FlagAnalyzer.Api.Access;

namespace FlagAnalyzer.Tests.Unit.Access;

public sealed class ApiKeySecretsTests
{
    [Fact]
    public void Generate_GivesAPrefixedSecretOf32RandomBytes_AndTheSha256OfIt()
    {
        var (secret, prefix, hash) = ApiKeySecrets.Generate();

        Assert.Matches("^fa_[0-9a-z]{8}_[A-Za-z0-9_-]{43}$", secret); // 43 base64url characters = 32 bytes
        Assert.Equal(prefix, ApiKeySecrets.PrefixOf(secret));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(secret)), hash);
        Assert.NotEqual(secret, ApiKeySecrets.Generate().Secret);
    }

    [Theory]
    [InlineData("a-bootstrap-key-of-at-least-32-characters", ApiKeySecrets.ForeignPrefix)]
    [InlineData("fa_ABCDEFGH_secret", ApiKeySecrets.ForeignPrefix)] // upper case is not the prefix alphabet
    [InlineData("fa_abc_secret", ApiKeySecrets.ForeignPrefix)]
    [InlineData("fa_abcdefgh_s", "abcdefgh")]
    public void PrefixOf_OnlyTrustsTheFaFormat(string presented, string prefix) => Assert.Equal(prefix, ApiKeySecrets.PrefixOf(presented));

    [Fact]
    public void Matches_ComparesWholeHashes()
    {
        var stored = ApiKeySecrets.Hash("fa_abcdefgh_right");
        var differsInLastByte = (byte[])stored.Clone();
        differsInLastByte[^1] ^= 1;

        Assert.True(ApiKeySecrets.Matches(stored, ApiKeySecrets.Hash("fa_abcdefgh_right")));
        Assert.False(ApiKeySecrets.Matches(stored, differsInLastByte));
        Assert.False(ApiKeySecrets.Matches(stored[..16], stored[..16])); // a truncated stored hash never matches
    }

    /// <summary>
    /// Timing safety is a property of the code path, not something a unit test can time: every comparison of a
    /// secret or its hash in Access/ goes through <see cref="ApiKeySecrets.Matches"/>, which is
    /// CryptographicOperations.FixedTimeEquals, and nothing compares them with ==, Equals or SequenceEqual.
    /// </summary>
    [Fact]
    public void SecretComparisons_GoThroughFixedTimeEqualsOnly()
    {
        var folder = Path.Combine(Web.RepoPaths.Root, "FlagAnalyzer.Api", "Access");
        var sources = Directory.GetFiles(folder, "*.cs").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);

        Assert.Contains("CryptographicOperations.FixedTimeEquals(storedHash, presentedHash)", sources["ApiKeySecrets.cs"]);
        foreach (var (file, text) in sources)
        {
            Assert.DoesNotContain("SequenceEqual", text);
            Assert.DoesNotMatch(@"(SecretHash|hash|secret|presented)\s*==", text.Replace("presented is null", ""));
            Assert.DoesNotMatch(@"(SecretHash|[hH]ash)\.Equals\(", text);
            if (file != "ApiKeySecrets.cs") Assert.DoesNotContain("FixedTimeEquals", text);
        }
        Assert.Contains("ApiKeySecrets.Matches(", sources["ApiKeyVerifier.cs"]);
    }
}
