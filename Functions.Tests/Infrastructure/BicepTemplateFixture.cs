using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Serverless.Functions.Tests.Infrastructure;

/// <summary>Compiles and lints infra/main.bicep once with the Bicep CLI from NuGet and parses the ARM JSON.</summary>
public sealed class BicepTemplateFixture : IAsyncLifetime
{
    const string BicepPackagePrefix = "Azure.Bicep.CommandLine.";
    static readonly TimeSpan BicepTimeout = TimeSpan.FromMinutes(3);

    JsonObject? template;

    public string RepositoryRoot { get; } = FindRepositoryRoot();
    public string InfraDirectory => Path.Combine(RepositoryRoot, "infra");
    public string MainBicep => Path.Combine(InfraDirectory, "main.bicep");
    public BicepRun Build { get; private set; } = BicepRun.NotRun;
    public BicepRun Lint { get; private set; } = BicepRun.NotRun;

    /// <summary>The compiled template; fails with Bicep's own message when the build did not succeed.</summary>
    public JsonObject Template => template
        ?? throw new InvalidOperationException($"bicep build failed (exit {Build.ExitCode}):\n{Build.StandardError}");

    public async ValueTask InitializeAsync()
    {
        var bicep = FindBicep(RepositoryRoot);
        Build = await RunAsync(bicep, ["build", MainBicep, "--stdout"]);
        Lint = await RunAsync(bicep, ["lint", MainBicep]);
        if (Build.ExitCode == 0)
        {
            template = JsonNode.Parse(Build.StandardOutput)?.AsObject();
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Every resource in the template and in the templates of its nested deployments (modules).</summary>
    public IEnumerable<ArmResource> AllResources() => ArmResource.Walk(Template, deployment: null);

    public IEnumerable<ArmResource> ResourcesOfType(string type) =>
        AllResources().Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));

    public ArmResource SingleResource(string type) => Assert.Single(ResourcesOfType(type));

    public JsonObject ReadJsonFile(string relativePath) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot, relativePath)))!.AsObject();

    /// <summary>The repository root is the first folder above the test binaries, or above this source file, holding Serverless.sln.</summary>
    static string FindRepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null && dir.Exists; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"No Serverless.sln above {AppContext.BaseDirectory} or {sourceFile}.");
    }

    /// <summary>
    /// The test project may stamp the path with
    /// &lt;AssemblyMetadata Include="BicepPath" Value="$(PkgAzure_Bicep_CommandLine_linux-x64)/tools/bicep" /&gt;;
    /// otherwise the package is looked up in the NuGet folder at the version Directory.Packages.props pins.
    /// </summary>
    static string FindBicep(string repositoryRoot)
    {
        var stamped = typeof(BicepTemplateFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepPath")?.Value;
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(stamped))
        {
            candidates.Add(stamped);
        }

        var packageId = BicepPackagePrefix + PortableRuntimeIdentifier();
        var packageFolder = Path.Combine(NuGetPackagesFolder(), packageId.ToLowerInvariant());
        var executable = OperatingSystem.IsWindows() ? "bicep.exe" : "bicep";
        var pinned = PinnedVersion(repositoryRoot, packageId);
        if (pinned is not null)
        {
            candidates.Add(Path.Combine(packageFolder, pinned, "tools", executable));
        }
        else if (Directory.Exists(packageFolder))
        {
            candidates.AddRange(Directory.GetDirectories(packageFolder)
                .OrderByDescending(d => Version.TryParse(Path.GetFileName(d), out var v) ? v : new Version())
                .Select(d => Path.Combine(d, "tools", executable)));
        }

        var found = candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"Bicep CLI not found (tried: {string.Join(", ", candidates)}). Restore the test project so NuGet fetches {packageId}.");
        EnsureExecutable(found);
        return found;
    }

    // The Bicep CLI packages are named by portable runtime identifier, e.g. Azure.Bicep.CommandLine.linux-x64.
    static string PortableRuntimeIdentifier()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var architecture = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        return $"{os}-{architecture}";
    }

    static string NuGetPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    static string? PinnedVersion(string repositoryRoot, string packageId)
    {
        var props = Path.Combine(repositoryRoot, "Directory.Packages.props");
        if (!File.Exists(props))
        {
            return null;
        }

        return XDocument.Load(props).Descendants("PackageVersion")
            .FirstOrDefault(e => string.Equals((string?)e.Attribute("Include"), packageId, StringComparison.OrdinalIgnoreCase))
            ?.Attribute("Version")?.Value;
    }

    // NuGet does not always keep the executable bit when it extracts a package.
    static void EnsureExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if (!mode.HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute);
        }
    }

    static async Task<BicepRun> RunAsync(string bicep, string[] arguments)
    {
        var start = new ProcessStartInfo(bicep)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {bicep}.");
        using var timeout = new CancellationTokenSource(BicepTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} took longer than {BicepTimeout}.");
        }

        return new BicepRun(process.ExitCode, await stdout, await stderr);
    }
}

public sealed record BicepRun(int ExitCode, string StandardOutput, string StandardError)
{
    public static BicepRun NotRun { get; } = new(-1, "", "not run");
}

/// <summary>A resource of the compiled template, with the template (module) and nested deployment it sits in.</summary>
public sealed partial record ArmResource(JsonObject Resource, JsonObject Template, JsonObject? Deployment)
{
    public string Type => (string?)Resource["type"] ?? "";
    public string Name => (string?)Resource["name"] ?? "";
    public JsonObject Properties => Resource["properties"]?.AsObject() ?? [];
    public string? DeploymentName => (string?)Deployment?["name"];

    /// <summary>The value the enclosing deployment passes to one of its module's parameters, as JSON text.</summary>
    public string ModuleArgument(string parameter) =>
        ArmJson.Text(Deployment?["properties"]?["parameters"]?[parameter]?["value"]);

    /// <summary>An expression with variables('x') replaced by the template's literal string values, so ids read plainly.</summary>
    public string Resolved(string? text)
    {
        text ??= "";
        var variables = Template["variables"]?.AsObject();
        return variables is null
            ? text
            : VariableReference().Replace(text, m =>
                variables[m.Groups[1].Value] is JsonValue v && v.TryGetValue<string>(out var s) ? $"'{s}'" : m.Value);
    }

    public static IEnumerable<ArmResource> Walk(JsonObject template, JsonObject? deployment)
    {
        // Bicep emits an array, or an object keyed by symbolic name when it uses languageVersion 2.0.
        var resources = template["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            JsonObject map => map.Select(p => p.Value).OfType<JsonObject>(),
            _ => [],
        };
        // "existing" references are not deployed (Bicep emits them only in languageVersion 2.0).
        foreach (var resource in resources.Where(r => (bool?)r["existing"] != true))
        {
            yield return new ArmResource(resource, template, deployment);
            if (resource["properties"]?["template"] is JsonObject nested)
            {
                foreach (var inner in Walk(nested, resource))
                {
                    yield return inner;
                }
            }
        }
    }

    [GeneratedRegex(@"variables\('([^']+)'\)")]
    private static partial Regex VariableReference();
}

public static class ArmJson
{
    // The default encoder writes ' as \u0027, which would hide ARM expressions from plain string checks.
    static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A node as JSON text; a string value comes back as-is, without quotes.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(Readable),
    };
}
