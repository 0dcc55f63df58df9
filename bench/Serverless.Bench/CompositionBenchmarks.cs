using BenchmarkDotNet.Attributes;
using Serverless.ColdStart;

namespace Serverless.Bench;

/// <summary>
/// The worker's composition once the code is jitted: what remains of start-up when JIT is not the cost
/// (the cold figure, JIT included, comes from bench/cold-start.sh in fresh processes).
/// </summary>
public class CompositionBenchmarks
{
    private readonly Dictionary<string, string?> settings = WorkerComposition.LocalSettings();

    [Benchmark]
    public int ComposeWorker()
    {
        using var host = WorkerComposition.Build(settings, out var registrations);
        return WorkerComposition.ResolveAll(host, registrations);
    }
}
