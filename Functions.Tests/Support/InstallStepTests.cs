namespace Serverless.Functions.Tests.Support;

/// <summary>
/// The guard around what the tests install for themselves (<see cref="TestTools"/>): one install however many callers ask
/// at once, none when another process did it while this one waited for the lock, and no half-finished npm install taken for
/// a finished one. The install commands are stand-ins that count their runs.
/// </summary>
public sealed class InstallStepTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("install-step-").FullName;

    private string LockFile => Path.Combine(folder, "locks", "tool.lock");

    [Fact]
    public async Task Callers_asking_at_once_share_one_install_and_a_later_run_finds_it_done()
    {
        var installed = false;
        var runs = 0;
        var step = new InstallStep("tool", LockFile, () => Volatile.Read(ref installed), async cancellation =>
        {
            Interlocked.Increment(ref runs);
            await Task.Delay(300, cancellation);
            Volatile.Write(ref installed, true);
        });

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(step.EnsureAsync)));
        await step.EnsureAsync();
        // The next test process has a step of its own; what the first installed is there for it.
        await new InstallStep("tool", LockFile, () => Volatile.Read(ref installed), _ => throw new InvalidOperationException("installed again")).EnsureAsync();

        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task A_run_waits_while_another_holds_the_lock_and_then_does_not_install_what_the_other_installed()
    {
        var installed = false;
        var runs = 0;
        var step = new InstallStep("tool", LockFile, () => Volatile.Read(ref installed), _ =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        });
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);

        Task waiting;
        // Another test process in the middle of its install: it holds the lock file the way InstallStep does.
        using (new FileStream(LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            waiting = step.EnsureAsync();
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            Assert.False(waiting.IsCompleted, "it did not wait for the lock");
            Volatile.Write(ref installed, true);
        }

        await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(0, runs);
    }

    [Fact]
    public async Task A_lock_held_past_the_timeout_fails_the_step_naming_the_lock_file()
    {
        var step = new InstallStep("tool", LockFile, () => false, _ => Task.CompletedTask) { LockTimeout = TimeSpan.FromMilliseconds(500) };
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        using var held = new FileStream(LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        var error = await Assert.ThrowsAsync<TimeoutException>(step.EnsureAsync);

        Assert.Contains(LockFile, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_install_that_fails_or_leaves_it_incomplete_fails_every_caller_of_the_run_and_is_tried_again_by_the_next()
    {
        var runs = 0;
        var failing = new InstallStep("tool", LockFile, () => false, _ =>
        {
            Interlocked.Increment(ref runs);
            throw new InvalidOperationException("npm ci failed");
        });
        await Assert.ThrowsAsync<InvalidOperationException>(failing.EnsureAsync);
        await Assert.ThrowsAsync<InvalidOperationException>(failing.EnsureAsync);
        Assert.Equal(1, runs);

        var incomplete = new InstallStep("tool", LockFile, () => false, _ =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(incomplete.EnsureAsync);
        Assert.Contains("incomplete", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, runs);
    }

    [Fact]
    public void Npm_packages_count_as_installed_only_once_npm_ci_finished_every_pinned_package()
    {
        File.WriteAllText(Path.Combine(folder, "package-lock.json"), """
            {
              "lockfileVersion": 3,
              "packages": {
                "": { "devDependencies": { "a": "1.0.0" } },
                "node_modules/a": { "version": "1.0.0", "dev": true },
                "node_modules/a/node_modules/b": { "version": "2.0.0", "dev": true },
                "node_modules/optional-tool": { "version": "4.0.0", "optional": true }
              }
            }
            """);
        void Package(string path, string text)
        {
            Directory.CreateDirectory(Path.Combine(folder, path));
            File.WriteAllText(Path.Combine(folder, path, "package.json"), text);
        }

        Assert.False(TestTools.NpmPackagesInstalled(folder), "no node_modules");
        Package("node_modules/a", """{ "name": "a", "version": "1.0.0" }""");
        Assert.False(TestTools.NpmPackagesInstalled(folder), "an interrupted install: one package, no marker");
        File.WriteAllText(Path.Combine(folder, "node_modules", ".package-lock.json"), "{}");
        Assert.False(TestTools.NpmPackagesInstalled(folder), "a package missing");
        Package("node_modules/a/node_modules/b", """{ "name": "b", "ver""");
        Assert.False(TestTools.NpmPackagesInstalled(folder), "a manifest cut off");
        Package("node_modules/a/node_modules/b", """{ "name": "b", "version": "1.9.0" }""");
        Assert.False(TestTools.NpmPackagesInstalled(folder), "another version than the pinned one");
        Package("node_modules/a/node_modules/b", """{ "name": "b", "version": "2.0.0" }""");
        Assert.True(TestTools.NpmPackagesInstalled(folder), "every pinned package; the optional one may be skipped");
        File.Delete(Path.Combine(folder, "node_modules", ".package-lock.json"));
        Assert.False(TestTools.NpmPackagesInstalled(folder), "npm writes its marker last");
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
