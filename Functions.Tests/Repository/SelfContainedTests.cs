using System.Text.RegularExpressions;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Repository;

/// <summary>
/// The repository stands on its own: nothing in it refers to files outside it (the specification the team works from
/// lives beside the repository, not in it; the product's API document is docs/api.md).
/// </summary>
public sealed partial class SelfContainedTests
{
    // Names of the specification files outside the repository, and absolute paths of the machines it was written on.
    private static readonly string[] OutsideReferences = ["../shared", "shared/API.md", "API.md", "DESIGN.md", "STYLE.md", "/work/", "/home/", "C:\\Users\\"];

    [Fact]
    public void The_file_list_is_the_repository_s_own()
    {
        Assert.Contains("README.md", RepositoryFiles.All);
        Assert.Contains("docs/api.md", RepositoryFiles.All);
        Assert.DoesNotContain(RepositoryFiles.All, path => path.StartsWith("node_modules/", StringComparison.Ordinal) || path.Contains("/bin/", StringComparison.Ordinal));
    }

    [Fact]
    public void No_file_refers_to_the_specification_outside_the_repository_or_to_absolute_local_paths()
    {
        var found = (from file in RepositoryFiles.Texts()
                     where file.Path != "Functions.Tests/Repository/SelfContainedTests.cs"
                     from reference in OutsideReferences
                     where file.Text.Contains(reference, StringComparison.Ordinal)
                     select $"{file.Path}: {reference}").ToList();

        Assert.True(found.Count == 0, "References to files outside the repository:\n" + string.Join('\n', found));
    }

    [Fact]
    public void Every_relative_link_in_the_markdown_resolves_to_a_file_or_folder_of_the_repository()
    {
        var root = Path.GetFullPath(RepositoryRoot.Path);
        var problems = new List<string>();
        var checkedLinks = 0;
        foreach (var (path, text) in RepositoryFiles.Texts().Where(f => f.Path.EndsWith(".md", StringComparison.Ordinal)))
        {
            foreach (Match link in MarkdownLink().Matches(text))
            {
                var target = link.Groups["target"].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                checkedLinks++;
                var resolved = Path.GetFullPath(Path.Combine(root, Path.GetDirectoryName(path) ?? "", Uri.UnescapeDataString(target)));
                if (!resolved.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && resolved != root)
                {
                    problems.Add($"{path}: {target} points outside the repository");
                }
                else if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    problems.Add($"{path}: {target} does not exist");
                }
            }
        }

        Assert.True(checkedLinks > 0, "No relative markdown link was found, so nothing was checked.");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    // [text](target) and ![alt](target "title"); the target ends at whitespace or ')'.
    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();
}
