namespace FlagAnalyzer.Tests.Support;

// apart from PostgresServer.cs, which the benchmarks link without xunit
public sealed partial class PostgresServer
{
    /// <summary>Fails with the install command when the binaries are missing, rather than with a process error.</summary>
    public static void RequireInstalled() => Assert.True(Installed, MissingMessage);
}
