using System.Diagnostics;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Repository;

/// <summary>The repository's own files as git sees them (tracked, plus new files not ignored), read as text.</summary>
public static class RepositoryFiles
{
    private static readonly Lazy<IReadOnlyList<string>> Listed = new(List);

    /// <summary>Paths relative to the repository root, with '/' separators.</summary>
    public static IReadOnlyList<string> All => Listed.Value;

    /// <summary>The text files among them (no NUL byte in the first 8 KiB), with their contents.</summary>
    public static IEnumerable<(string Path, string Text)> Texts()
    {
        foreach (var path in All)
        {
            var full = RepositoryRoot.Combine(path);
            if (!File.Exists(full))
            {
                continue; // deleted in the work tree but not yet in the index
            }

            var bytes = File.ReadAllBytes(full);
            if (bytes.AsSpan(0, Math.Min(bytes.Length, 8192)).Contains((byte)0))
            {
                continue;
            }

            yield return (path, System.Text.Encoding.UTF8.GetString(bytes));
        }
    }

    private static List<string> List()
    {
        var start = new ProcessStartInfo("git", ["-C", RepositoryRoot.Path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var git = Process.Start(start) ?? throw new InvalidOperationException("git could not be started.");
        var output = git.StandardOutput.ReadToEnd();
        var errors = git.StandardError.ReadToEnd();
        git.WaitForExit();
        if (git.ExitCode != 0)
        {
            throw new InvalidOperationException($"git ls-files failed ({git.ExitCode}): {errors}");
        }

        return [.. output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Distinct().Order(StringComparer.Ordinal)];
    }
}
