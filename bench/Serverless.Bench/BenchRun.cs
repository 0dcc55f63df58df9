using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Serverless.Functions.Tests.Support;

namespace Serverless.Bench;

public static class BenchRun
{
    public static readonly Type[] All = [typeof(ListBenchmarks), typeof(RequestOverheadBenchmarks), typeof(LoginBenchmarks), typeof(Argon2Benchmarks), typeof(CompositionBenchmarks)];

    public static string ArtifactsPath => RepositoryRoot.Combine("BenchmarkDotNet.Artifacts");

    /// <summary>
    /// Every benchmark in one process (in-process toolchain: the classes share one Azurite and its 100,000 seeded items),
    /// few iterations so a run takes minutes; then the figures and ratios of this run, printed and kept for <c>summarize</c>.
    /// </summary>
    public static int RunAll(string[] classNames)
    {
        var job = Job.Default
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true))
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(15)
            .WithId("Short");
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(ArtifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile);
        var types = classNames.Length == 0 ? All : [.. All.Where(type => classNames.Contains(type.Name, StringComparer.OrdinalIgnoreCase))];
        if (types.Any(type => type != typeof(Argon2Benchmarks) && type != typeof(CompositionBenchmarks)))
        {
            // Azurite, the app and the seeded items, before any benchmark runs (the seeding takes minutes).
            _ = BenchEnvironment.Get();
        }

        var summaries = BenchmarkRunner.Run(types, config);
        var run = RunSummary.From(summaries);
        if (types.Contains(typeof(ListBenchmarks)) && types.Contains(typeof(LoginBenchmarks)))
        {
            run.Add(PairedRatios.Measure());
        }

        var file = run.Save(Path.Combine(ArtifactsPath, "runs"));
        Console.WriteLine();
        Console.WriteLine(RunSummary.Table([run]));
        Console.WriteLine($"Kept as {file}; `summarize` gives the median over every kept run.");
        return summaries.Any(summary => summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success)) ? 1 : 0;
    }

    /// <summary>Starts Azurite on the kept data and seeds what is missing (the first time, the 100,000 items), then stops.</summary>
    public static int SeedOnly()
    {
        var environment = BenchEnvironment.Get();
        environment.BigAzurite.Dispose();
        environment.Azurite.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    /// <summary>Only the interleaved ratios (a minute or two), printed and not kept.</summary>
    public static int PairedOnly()
    {
        foreach (var (name, value) in PairedRatios.Measure())
        {
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}: {value:F2}"));
        }

        return 0;
    }

    public static int Unknown(string mode)
    {
        Console.Error.WriteLine($"Unknown mode '{mode}'. Modes: all [class names], seed, paired, list-breakdown, login-breakdown, argon2-memory, summarize [run files].");
        return 2;
    }
}
