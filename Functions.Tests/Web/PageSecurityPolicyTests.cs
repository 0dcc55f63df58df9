using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Web;

/// <summary>
/// The page's CSP (issue 13.10): injected script must not be able to send data to any origin. The committed files are
/// the local configuration (loopback only); azd's predeploy hook (scripts/configure-web.sh) narrows connect-src to the
/// deployed API's exact origin in the copy it uploads.
/// </summary>
public sealed partial class PageSecurityPolicyTests
{
    private const string ApiBaseUrl = "https://func-api-abc123.azurewebsites.net/api";
    private const string ApiOrigin = "https://func-api-abc123.azurewebsites.net";

    [Fact]
    public void The_committed_connect_src_allows_the_page_itself_and_loopback_only()
    {
        foreach (var (file, policy) in Policies(RepositoryRoot.Combine("web")))
        {
            var sources = ConnectSources(policy);

            Assert.Contains("'self'", sources);
            Assert.All(sources, source => Assert.True(source == "'self'" || Loopback().IsMatch(source),
                $"{file}: connect-src source {source} is neither 'self' nor a loopback origin"));
        }
    }

    [Fact]
    public void The_meta_tag_and_the_header_carry_the_same_policy_but_frame_ancestors()
    {
        var policies = Policies(RepositoryRoot.Combine("web")).ToDictionary(p => p.File, p => p.Policy);

        Assert.Equal(policies["staticwebapp.config.json"].Replace("; frame-ancestors 'none'", "", StringComparison.Ordinal), policies["index.html"]);
    }

    [Fact]
    public async Task The_predeploy_script_points_the_page_and_its_connect_src_at_exactly_the_api_origin()
    {
        using var web = WebCopy.Create();

        var run = await RunScriptAsync(web.Path, ApiBaseUrl);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"const defaultApiBaseUrl = \"{ApiBaseUrl}\";", File.ReadAllText(Path.Combine(web.Path, "config.js")), StringComparison.Ordinal);
        var original = Policies(RepositoryRoot.Combine("web")).ToDictionary(p => p.File, p => p.Policy);
        foreach (var (file, policy) in Policies(web.Path))
        {
            Assert.Equal(["'self'", ApiOrigin], ConnectSources(policy));
            Assert.DoesNotContain("localhost", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", policy, StringComparison.Ordinal);
            Assert.Equal(WithoutConnectSrc(original[file]), WithoutConnectSrc(policy));
        }

        // Deploying again (azd deploy after azd up) finds the rewritten files and leaves them as they are.
        var again = await RunScriptAsync(web.Path, ApiBaseUrl);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.All(Policies(web.Path), p => Assert.Equal(["'self'", ApiOrigin], ConnectSources(p.Policy)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("http://func-api-abc123.azurewebsites.net/api")]
    [InlineData("https://func-api-abc123.azurewebsites.net/api; connect-src *")]
    [InlineData("https://*.azurewebsites.net/api")]
    [InlineData("https://func-api-abc123.azurewebsites.net/api\" https://evil.example")]
    [InlineData("https://evil.example#.azurewebsites.net")]
    public async Task The_predeploy_script_refuses_anything_but_a_plain_https_url_and_changes_nothing(string url)
    {
        using var web = WebCopy.Create();
        var before = Directory.GetFiles(web.Path).ToDictionary(file => Path.GetFileName(file), File.ReadAllText);

        var run = await RunScriptAsync(web.Path, url);

        Assert.NotEqual(0, run.ExitCode);
        Assert.All(before, file => Assert.Equal(file.Value, File.ReadAllText(Path.Combine(web.Path, file.Key))));
    }

    [Fact]
    public void Azd_runs_the_script_before_uploading_the_page()
    {
        var azureYaml = File.ReadAllText(RepositoryRoot.Combine("azure.yaml"));

        Assert.Contains("run: sh ../scripts/configure-web.sh . \"${API_BASE_URL}\"", azureYaml, StringComparison.Ordinal);
    }

    private static IEnumerable<(string File, string Policy)> Policies(string webDirectory)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(webDirectory, "staticwebapp.config.json")));
        yield return ("staticwebapp.config.json", config.RootElement.GetProperty("globalHeaders").GetProperty("Content-Security-Policy").GetString()!);
        var meta = MetaPolicy().Match(File.ReadAllText(Path.Combine(webDirectory, "index.html")));
        Assert.True(meta.Success, "index.html has no CSP meta tag");
        yield return ("index.html", meta.Groups["policy"].Value);
    }

    private static string[] ConnectSources(string policy) =>
        policy.Split(';', StringSplitOptions.TrimEntries)
            .Single(directive => directive.StartsWith("connect-src ", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];

    private static string WithoutConnectSrc(string policy) =>
        string.Join("; ", policy.Split(';', StringSplitOptions.TrimEntries).Where(d => !d.StartsWith("connect-src ", StringComparison.Ordinal)));

    private static async Task<(int ExitCode, string Output)> RunScriptAsync(string webDirectory, string url)
    {
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { RepositoryRoot.Combine("scripts", "configure-web.sh"), webDirectory, url })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output + await error);
    }

    // http(s)://localhost or 127.0.0.1, with a port or any port; no path, no other host.
    [GeneratedRegex(@"^https?://(localhost|127\.0\.0\.1)(:([0-9]{1,5}|\*))?$")]
    private static partial Regex Loopback();

    [GeneratedRegex("""<meta http-equiv="Content-Security-Policy" content="(?<policy>[^"]*)">""")]
    private static partial Regex MetaPolicy();

    /// <summary>A throw-away copy of web/, as azd's hook gets it.</summary>
    private sealed class WebCopy : IDisposable
    {
        private WebCopy(string path) => Path = path;

        public string Path { get; }

        public static WebCopy Create()
        {
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "web-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            foreach (var file in Directory.GetFiles(RepositoryRoot.Combine("web")))
            {
                File.Copy(file, System.IO.Path.Combine(path, System.IO.Path.GetFileName(file)));
            }

            return new WebCopy(path);
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
