using System.Diagnostics;
using System.Text.RegularExpressions;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Repository;

/// <summary>
/// The README is a newcomer's path: it must stay true. Every repository path it names exists (or is one that the
/// build or the run script creates, which git ignores), every script it tells you to run exists and is executable,
/// and its two commands are exactly the ones CI proves. The same holds for the pages the README hands its details to
/// (<see cref="NewcomerPages"/>), which name paths and commands the same way, from the repository root.
/// </summary>
public sealed partial class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(RepositoryRoot.Combine("README.md"));

    /// <summary>The README and the pages that took over its details: local run and tests, deployment and settings, passkeys.</summary>
    public static readonly TheoryData<string> NewcomerPages = ["README.md", "docs/development.md", "docs/deployment.md", "docs/passkeys.md"];

    private static string Page(string path) => File.ReadAllText(RepositoryRoot.Combine(path.Split('/')));

    [Fact]
    public void The_two_commands_are_the_run_script_and_dotnet_test_in_that_order()
    {
        var section = Section("## The two commands");
        var commands = CodeBlocks(section).Select(block => block.Trim()).ToList();

        Assert.Equal(["./scripts/run-local.sh", "dotnet test"], commands);
        Assert.Contains("dotnet test", File.ReadAllText(RepositoryRoot.Combine(".ci", "run")), StringComparison.Ordinal);
        Assert.Contains("./scripts/run-local.sh --check", File.ReadAllText(RepositoryRoot.Combine(".ci", "run")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_sections_follow_a_newcomer_s_path()
    {
        string[] path = ["## The two commands", "## The page", "## The API", "## Deploy to Azure", "## Reference"];

        var positions = path.Select(heading => Readme.IndexOf("\n" + heading + "\n", StringComparison.Ordinal)).ToList();

        Assert.DoesNotContain(-1, positions);
        Assert.Equal(positions.Order(), positions);
        Assert.True(Readme.IndexOf("](docs/screenshot.png)", StringComparison.Ordinal) < positions[0], "the screenshot comes before the commands");
        Assert.Contains("](docs/api.md)", Section("## The API"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(NewcomerPages))]
    public void Every_repository_path_the_readme_names_exists_or_is_made_by_the_build_or_the_run(string page)
    {
        var text = Page(page);
        var root = new DirectoryInfo(RepositoryRoot.Path);
        var topLevel = root.EnumerateFileSystemInfos().Select(entry => entry.Name).ToHashSet();
        var problems = new List<string>();
        var checkedPaths = 0;
        foreach (var token in InlineCode().Matches(text).Select(m => m.Groups["code"].Value).Distinct())
        {
            var path = token.StartsWith("./", StringComparison.Ordinal) ? token[2..] : token;
            if (path.Contains(' ', StringComparison.Ordinal) || path.Contains("://", StringComparison.Ordinal) || path.Contains('<', StringComparison.Ordinal)
                || path.StartsWith('/') || !LooksLikePath(path, topLevel))
            {
                continue;
            }

            checkedPaths++;
            var full = RepositoryRoot.Combine(path.TrimEnd('/'));
            if (!File.Exists(full) && !Directory.Exists(full) && !IsIgnored(path))
            {
                problems.Add(token);
            }
        }

        Assert.True(checkedPaths >= (page == "README.md" ? 20 : 1), $"only {checkedPaths} paths recognised in {page}: the check is not looking");
        Assert.True(problems.Count == 0, $"{page} names paths that do not exist: " + string.Join(", ", problems));
    }

    [Theory]
    [MemberData(nameof(NewcomerPages))]
    public void Every_script_the_readme_runs_exists_and_is_executable_and_takes_the_options_given(string page)
    {
        var text = Page(page);
        var commands = CodeBlocks(text).SelectMany(block => block.Split('\n'))
            .Concat(InlineCode().Matches(text).Select(m => m.Groups["code"].Value))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("./", StringComparison.Ordinal))
            .ToList();

        Assert.True(page != "README.md" || commands.Count > 0, "no ./ command found in the README: the check is not looking");
        foreach (var command in commands)
        {
            var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var script = RepositoryRoot.Combine(parts[0][2..]);
            Assert.True(File.Exists(script), $"{parts[0]} does not exist");
            Assert.True(GitFileMode(parts[0][2..]) == "100755", $"{parts[0]} is not executable in git (git update-index --chmod=+x)");
            foreach (var option in parts.Skip(1).Where(p => p.StartsWith("--", StringComparison.Ordinal)))
            {
                Assert.Contains($"{option})", File.ReadAllText(script), StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(NewcomerPages))]
    public void Every_project_and_file_a_dotnet_or_bash_command_names_exists(string page)
    {
        var named = CommandArgument().Matches(Page(page)).Select(m => m.Groups["path"].Value).Distinct().ToList();

        Assert.True(page != "README.md" || named.Contains("Functions"), "the README no longer names dotnet run --project Functions");
        Assert.All(named, path => Assert.True(File.Exists(RepositoryRoot.Combine(path)) || Directory.Exists(RepositoryRoot.Combine(path)), path));
    }

    private static bool LooksLikePath(string token, HashSet<string> topLevel)
    {
        var first = token.Split('/')[0];
        return topLevel.Contains(first)
            || (token.Contains('/', StringComparison.Ordinal) && (token.EndsWith('/') || Path.HasExtension(token)) && !token.Contains('"', StringComparison.Ordinal))
            || token is "local.settings.json" or ".azurite/";
    }

    private static bool IsIgnored(string path)
    {
        var start = new ProcessStartInfo("git", ["-C", RepositoryRoot.Path, "check-ignore", "-q", "--no-index", path]) { RedirectStandardError = true };
        using var git = Process.Start(start)!;
        git.WaitForExit();
        return git.ExitCode == 0;
    }

    private static string GitFileMode(string path)
    {
        var start = new ProcessStartInfo("git", ["-C", RepositoryRoot.Path, "ls-files", "-s", "--", path]) { RedirectStandardOutput = true };
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        return output.Split(' ')[0];
    }

    private static string Section(string heading)
    {
        var start = Readme.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {heading}");
        var end = Readme.IndexOf("\n## ", start + heading.Length + 1, StringComparison.Ordinal);
        return end < 0 ? Readme[start..] : Readme[start..end];
    }

    private static IEnumerable<string> CodeBlocks(string markdown) =>
        CodeBlock().Matches(markdown).Select(m => m.Groups["body"].Value);

    [GeneratedRegex(@"```(?:bash|sh)\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"(?<!`)`(?<code>[^`\n]+)`(?!`)")]
    private static partial Regex InlineCode();

    // "dotnet run --project Functions", "bash .ci/run": the path a command is given.
    [GeneratedRegex(@"(?:--project|(?<![\w./-])bash|(?<![\w./-])sh) (?<path>[\w.][\w./-]*)")]
    private static partial Regex CommandArgument();
}
