namespace FlagAnalyzer.Tests.Web;

/// <summary>Folders of the repository, found from the test binaries by walking up to the solution file.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Web => Path.Combine(Root, "FlagAnalyzer.Web");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FlagAnalyzer.sln"))) return dir.FullName;
        throw new InvalidOperationException($"FlagAnalyzer.sln not found above {AppContext.BaseDirectory}.");
    }
}
