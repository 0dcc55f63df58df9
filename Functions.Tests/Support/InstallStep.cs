using System.Diagnostics;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// Something the tests install for themselves (the npm packages, the dotnet tools, Chromium), at most once however many
/// test classes ask at the same moment and however many test processes run at once: callers in one process share one
/// attempt, and the attempt holds a lock file (opened with <see cref="FileShare.None"/>, which .NET takes as an exclusive
/// lock on Linux too) while it checks and installs, so a second process waits and then finds the work done.
/// <paramref name="isInstalled"/> must only say yes to a finished install (a marker the installer writes last), so that
/// what an interrupted run left behind is installed again; after <paramref name="install"/> it must say yes.
/// </summary>
public sealed class InstallStep(string name, string lockFile, Func<bool> isInstalled, Func<CancellationToken, Task> install)
{
    private readonly Lock gate = new();
    private Task? attempt;

    /// <summary>How long a caller waits for another process's install before it gives up.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(20);

    public string Name => name;

    /// <summary>Installs unless it is installed; every caller of this process awaits the same attempt (and its failure).</summary>
    public Task EnsureAsync()
    {
        lock (gate)
        {
            return attempt ??= Task.Run(InstallOnceAsync);
        }
    }

    private async Task InstallOnceAsync()
    {
        if (isInstalled())
        {
            return;
        }

        using var held = await AcquireAsync();
        if (isInstalled())
        {
            return; // another process installed it while this one waited
        }

        await install(CancellationToken.None);
        if (!isInstalled())
        {
            throw new InvalidOperationException($"{name}: the install step finished, but what it installs is still incomplete.");
        }
    }

    private async Task<FileStream> AcquireAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < LockTimeout)
            {
                await Task.Delay(200);
            }
            catch (IOException exception)
            {
                throw new TimeoutException($"{name}: {lockFile} stayed locked by another test run for {LockTimeout}.", exception);
            }
        }
    }

    /// <summary>Runs a command to its end; a failure names the command and carries what it printed.</summary>
    public static async Task RunCommandAsync(string workingDirectory, string fileName, string[] arguments, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        var command = $"{fileName} {string.Join(' ', arguments)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {command}.");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new InvalidOperationException($"Could not start {command}: {exception.Message}", exception);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{command} (in {workingDirectory}) failed with exit code {process.ExitCode}:\n{await output}{await errors}");
            }
        }
    }
}
