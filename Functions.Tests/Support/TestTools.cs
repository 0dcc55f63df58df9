using System.Diagnostics;
using System.Text.Json;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// What the tests stand on besides NuGet, installed by the tests themselves when missing, so that <c>dotnet test</c> in a
/// fresh clone needs nothing run before it: each is an <see cref="InstallStep"/>, done at most once per run even when
/// test classes, or two test processes, ask at the same moment.
/// </summary>
public static class TestTools
{
    /// <summary>Debian's Chromium, which the browser tests drive (Playwright's own browser download is not used).</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string LockFolder = RepositoryRoot.Combine("obj", "test-installs");
    private static bool dotnetToolsRestored;

    /// <summary>The npm packages package-lock.json pins (Azurite; the page server and Core Tools come along): <c>npm ci</c>.</summary>
    public static InstallStep NpmPackages { get; } = new(
        "npm ci", Path.Combine(LockFolder, "npm.lock"),
        () => NpmPackagesInstalled(RepositoryRoot.Path),
        _ => InstallStep.RunCommandAsync(RepositoryRoot.Path, "npm", ["ci", "--no-audit", "--no-fund"]));

    /// <summary>
    /// The dotnet tools of .config/dotnet-tools.json (smtp4dev): <c>dotnet tool restore</c>, once per test process (whether the
    /// tools are restored is NuGet's to know, and a restore of restored tools changes nothing).
    /// </summary>
    public static InstallStep DotnetTools { get; } = new(
        "dotnet tool restore", Path.Combine(LockFolder, "dotnet-tools.lock"),
        () => dotnetToolsRestored,
        async _ =>
        {
            await InstallStep.RunCommandAsync(RepositoryRoot.Path, "dotnet", ["tool", "restore"]);
            dotnetToolsRestored = true;
        });

    /// <summary>
    /// Debian's <c>chromium</c> package, with apt-get when the tests run as root on a Debian machine without it (as CI does);
    /// elsewhere a missing Chromium fails the browser tests with the command to run. apt-get is machine-wide, and so is the lock.
    /// </summary>
    public static InstallStep Chromium { get; } = new(
        "Chromium", Path.Combine(Path.GetTempPath(), "serverless-tests-chromium.lock"), ChromiumInstalled, _ => InstallChromiumAsync());

    /// <summary>
    /// Whether <c>npm ci</c> finished in <paramref name="root"/>: npm writes node_modules/.package-lock.json last, and every
    /// package package-lock.json pins (bar the optional ones, which may be skipped) is there in its pinned version, so a
    /// node_modules that an interrupted install left half-filled is not taken for a finished one.
    /// </summary>
    public static bool NpmPackagesInstalled(string root)
    {
        if (!File.Exists(Path.Combine(root, "node_modules", ".package-lock.json")))
        {
            return false;
        }

        using var lockFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "package-lock.json")));
        foreach (var package in lockFile.RootElement.GetProperty("packages").EnumerateObject())
        {
            if (package.Name.Length == 0 || IsTrue(package.Value, "optional") || IsTrue(package.Value, "link"))
            {
                continue;
            }

            var manifest = Path.Combine(root, package.Name, "package.json");
            if (!File.Exists(manifest))
            {
                return false;
            }

            try
            {
                using var installed = JsonDocument.Parse(File.ReadAllText(manifest));
                if (installed.RootElement.GetProperty("version").GetString() != package.Value.GetProperty("version").GetString())
                {
                    return false;
                }
            }
            catch (Exception exception) when (exception is JsonException or KeyNotFoundException)
            {
                return false; // cut off while it was written
            }
        }

        return true;
    }

    private static bool IsTrue(JsonElement package, string property) =>
        package.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True;

    private static bool ChromiumInstalled()
    {
        if (!File.Exists(ChromiumPath))
        {
            return false;
        }

        // A package that dpkg was stopped in the middle of unpacking or configuring is not installed.
        var status = DpkgStatus("chromium");
        return status is null || status.EndsWith(" installed", StringComparison.Ordinal);
    }

    /// <summary>dpkg's status of a package ("install ok installed"), or null where there is no dpkg or it does not know it.</summary>
    private static string? DpkgStatus(string package)
    {
        if (!File.Exists("/usr/bin/dpkg-query"))
        {
            return null;
        }

        var start = new ProcessStartInfo("dpkg-query", ["-W", "-f=${Status}", package])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var query = Process.Start(start)!;
        var errors = query.StandardError.ReadToEndAsync();
        var status = query.StandardOutput.ReadToEnd();
        query.WaitForExit();
        _ = errors.Result;
        return query.ExitCode == 0 && status.Length > 0 ? status.Trim() : null;
    }

    private static async Task InstallChromiumAsync()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/apt-get") || !Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                $"{ChromiumPath} is missing. The browser tests use Debian's Chromium: run `apt-get update && apt-get install -y chromium` " +
                "(.ci/run does this, and so do the tests when they run as root on Debian).");
        }

        var noPrompts = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        // Wait for another apt-get or dpkg of the machine rather than fail on its lock.
        await InstallStep.RunCommandAsync("/", "apt-get", ["-o", "DPkg::Lock::Timeout=600", "update", "-qq"], noPrompts);
        await InstallStep.RunCommandAsync("/", "apt-get", ["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", "chromium"], noPrompts);
    }
}
