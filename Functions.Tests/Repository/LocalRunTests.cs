using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Repository;

/// <summary>
/// The README's first command, <c>./scripts/run-local.sh</c>, and what it stands on: the npm pins, the Core Tools fallback
/// chain, and <c>dotnet run --project Functions</c>. CI runs the script itself with <c>--check</c> (.ci/run).
/// </summary>
[Collection(nameof(SerialRepository))]
public sealed class LocalRunTests
{
    private static readonly string Script = RepositoryRoot.Combine("scripts", "run-local.sh");

    [Fact]
    public void Package_json_pins_core_tools_4_as_an_optional_dependency_and_the_page_server_exactly()
    {
        using var package = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("package.json")));
        using var lockFile = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("package-lock.json")));
        var root = package.RootElement;
        var lockRoot = lockFile.RootElement.GetProperty("packages").GetProperty("");

        var coreTools = root.GetProperty("optionalDependencies").GetProperty("azure-functions-core-tools").GetString()!;
        Assert.Matches(@"^4\.\d+\.\d+$", coreTools);
        Assert.False(root.TryGetProperty("dependencies", out var dependencies) && dependencies.TryGetProperty("azure-functions-core-tools", out _));
        Assert.False(root.GetProperty("devDependencies").TryGetProperty("azure-functions-core-tools", out _), "a failed download would fail npm ci");
        Assert.Equal(coreTools, lockRoot.GetProperty("optionalDependencies").GetProperty("azure-functions-core-tools").GetString());
        var locked = lockFile.RootElement.GetProperty("packages").GetProperty("node_modules/azure-functions-core-tools");
        Assert.Equal(coreTools, locked.GetProperty("version").GetString());
        Assert.True(locked.GetProperty("optional").GetBoolean());

        foreach (var tool in new[] { "azurite", "http-server" })
        {
            var version = root.GetProperty("devDependencies").GetProperty(tool).GetString()!;
            Assert.Matches(@"^\d+\.\d+\.\d+$", version);
            Assert.Equal(version, lockFile.RootElement.GetProperty("packages").GetProperty("node_modules/" + tool).GetProperty("version").GetString());
        }
    }

    [Fact]
    public void The_script_serves_the_page_on_an_origin_that_host_cors_allows_and_starts_the_host_on_its_port()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("local.settings.json.example")));
        var host = settings.RootElement.GetProperty("Host");
        var origins = host.GetProperty("CORS").GetString()!.Split(',', StringSplitOptions.TrimEntries);
        var script = File.ReadAllText(Script);

        var webPort = System.Text.RegularExpressions.Regex.Match(script, @"^web_port=(\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
        Assert.Contains($"http://127.0.0.1:{webPort}", origins);
        Assert.Contains($"-a 127.0.0.1 -p \"$web_port\"", script, StringComparison.Ordinal);
        Assert.Contains($"api_url=\"http://localhost:{host.GetProperty("LocalHttpPort").GetInt32()}/api\"", script, StringComparison.Ordinal);
        Assert.Contains("dotnet run --project Functions", script, StringComparison.Ordinal);
        Assert.Contains("start_local_services", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Locally_passkeys_are_bound_to_localhost_and_accepted_from_the_scripts_page_origin_by_host_name()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("local.settings.json.example")));
        var values = settings.RootElement.GetProperty("Values");
        var corsOrigins = settings.RootElement.GetProperty("Host").GetProperty("CORS").GetString()!.Split(',', StringSplitOptions.TrimEntries);
        var webPort = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Script), @"^web_port=(\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
        var page = $"http://localhost:{webPort}";

        // WebAuthn refuses IP addresses as relying-party ids: the page must be opened at localhost, which CORS allows too.
        Assert.Equal("localhost", values.GetProperty("Passkeys__RelyingPartyId").GetString());
        Assert.Equal([page], values.GetProperty("Passkeys__Origins").GetString()!.Split(',', StringSplitOptions.TrimEntries));
        Assert.Contains(page, corsOrigins);
        // Mail links lead to the same origin, so a reset link opens the page where the account's passkeys work.
        Assert.Equal(page, values.GetProperty("Mail__PageOrigin").GetString());
        // The options the example holds start the app (a bad one would stop it, naming the setting).
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(
            values.EnumerateObject().Select(v => KeyValuePair.Create(v.Name.Replace("__", ":", StringComparison.Ordinal), (string?)v.Value.GetString()))).Build();
        Assert.Equal("localhost", Functions.Passkeys.PasskeyOptions.FromConfiguration(configuration).RelyingPartyId);
    }

    [Fact]
    public void The_script_checks_the_build_output_the_host_starts_in()
    {
        var script = File.ReadAllText(Script);
        var output = System.Text.RegularExpressions.Regex.Match(script, "^output=\"([^\"]+)\"$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;

        // The Debug build output, which the script builds, whatever configuration these tests were built in.
        Assert.Equal(FunctionsMetadata.RunOutputDirectory, RepositoryRoot.Combine(output));
        Assert.Contains("dotnet build Functions -c Debug", script, StringComparison.Ordinal);
        // The build writes functions.metadata into its output, as it did for the configuration these tests stand on.
        Assert.True(File.Exists(Path.Combine(FunctionsMetadata.OutputDirectory, "functions.metadata")));
    }

    [Fact]
    public void Without_core_tools_the_script_stops_with_the_install_hint_before_starting_anything()
    {
        using var copy = new ScriptCopy(localFunc: null);

        var (exitCode, output) = copy.Run();

        Assert.Equal(1, exitCode);
        Assert.Contains("npm install --global azure-functions-core-tools@4", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Waiting for", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(copy.Root, "local.settings.json")), "it must stop before setting anything up");
    }

    [Fact]
    public void The_script_prefers_the_local_core_tools_and_falls_back_to_the_global_one_when_the_local_one_does_not_run()
    {
        using (var working = new ScriptCopy(localFunc: "echo 4.15.1-local"))
        {
            var (_, output) = working.Run(globalFunc: "echo 4.0.0-global");
            Assert.Contains("Core Tools: node_modules/.bin/func (4.15.1-local)", output, StringComparison.Ordinal);
        }

        using var broken = new ScriptCopy(localFunc: "exit 1");
        var (_, fallback) = broken.Run(globalFunc: "echo 4.0.0-global");
        Assert.Matches(@"Core Tools: \S+/func \(4\.0\.0-global\)", fallback);
    }

    [Fact]
    public void Dotnet_run_starts_core_tools_in_the_full_build_output_path_from_any_folder()
    {
        using var fakeFunc = new TemporaryFolder();
        WriteExecutable(Path.Combine(fakeFunc.Path, "func"), "echo 4.0.0-test");

        var start = new ProcessStartInfo("dotnet",
            ["msbuild", RepositoryRoot.Combine("Functions", "Functions.csproj"), "-nologo", "-nodeReuse:false", "-t:ComputeRunArguments",
             "-getProperty:RunCommand", "-getProperty:RunWorkingDirectory"])
        {
            WorkingDirectory = fakeFunc.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = fakeFunc.Path + ":" + Environment.GetEnvironmentVariable("PATH");
        var (exitCode, output) = RunToEnd(start);

        Assert.True(exitCode == 0, output);
        using var properties = JsonDocument.Parse(output);
        var values = properties.RootElement.GetProperty("Properties");
        Assert.Equal("func", values.GetProperty("RunCommand").GetString());
        // dotnet run without -c: Debug, whatever configuration these tests were built in.
        Assert.Equal(FunctionsMetadata.RunOutputDirectory, values.GetProperty("RunWorkingDirectory").GetString()!.TrimEnd('/'));
    }

    private static (int ExitCode, string Output) RunToEnd(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish.");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static void WriteExecutable(string path, string body)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The run script is a bash script.");
        }

        File.WriteAllText(path, "#!/usr/bin/env bash\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("run-local-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>
    /// The script in a folder of its own with stand-ins for the npm tools, so that it runs without touching the
    /// repository: the Azurite and page-server stand-ins end at once, so a run that gets as far as starting them stops there.
    /// </summary>
    private sealed class ScriptCopy : IDisposable
    {
        private readonly TemporaryFolder folder = new();
        private readonly TemporaryFolder globalBin = new();
        private readonly TemporaryFolder tools = new();

        public ScriptCopy(string? localFunc)
        {
            Directory.CreateDirectory(System.IO.Path.Combine(Root, "scripts"));
            File.Copy(Script, System.IO.Path.Combine(Root, "scripts", "run-local.sh"));
            File.Copy(RepositoryRoot.Combine("local.settings.json.example"), System.IO.Path.Combine(Root, "local.settings.json.example"));
            var bin = System.IO.Path.Combine(Root, "node_modules", ".bin");
            Directory.CreateDirectory(bin);
            WriteExecutable(System.IO.Path.Combine(bin, "azurite"), "exit 0");
            WriteExecutable(System.IO.Path.Combine(bin, "http-server"), "exit 0");
            if (localFunc is not null)
            {
                WriteExecutable(System.IO.Path.Combine(bin, "func"), localFunc);
            }
        }

        public string Root => folder.Path;

        public (int ExitCode, string Output) Run(string? globalFunc = null)
        {
            // PATH: only the commands the script needs, linked into a folder of their own, so that no real func is found.
            foreach (var command in new[] { "node", "npm", "bash", "env", "sed", "seq", "mkdir", "cp", "cat", "sleep", "dirname" })
            {
                var target = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
                    .Select(folder => System.IO.Path.Combine(folder, command))
                    .FirstOrDefault(File.Exists);
                if (target is not null && !File.Exists(System.IO.Path.Combine(tools.Path, command)))
                {
                    File.CreateSymbolicLink(System.IO.Path.Combine(tools.Path, command), target);
                }
            }

            var path = tools.Path;
            if (globalFunc is not null)
            {
                WriteExecutable(System.IO.Path.Combine(globalBin.Path, "func"), globalFunc);
                path = globalBin.Path + ":" + path;
            }

            var start = new ProcessStartInfo("bash", [System.IO.Path.Combine(Root, "scripts", "run-local.sh")])
            {
                WorkingDirectory = Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["PATH"] = path;
            return RunToEnd(start);
        }

        public void Dispose()
        {
            folder.Dispose();
            globalBin.Dispose();
            tools.Dispose();
        }
    }
}
