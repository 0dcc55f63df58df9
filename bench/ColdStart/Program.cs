using System.Diagnostics;
using System.Globalization;
using Serverless.ColdStart;

// One cold composition per process: bench/cold-start.sh runs this many times, published with and without ReadyToRun,
// and times each process from its start to its exit as well.
var clock = Stopwatch.StartNew();
using var host = WorkerComposition.Build(WorkerComposition.LocalSettings(), out var registrations);
var built = clock.Elapsed;
var objects = WorkerComposition.ResolveAll(host, registrations);
var resolved = clock.Elapsed;

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"build_ms={built.TotalMilliseconds:F1} resolve_ms={(resolved - built).TotalMilliseconds:F1} composition_ms={resolved.TotalMilliseconds:F1} objects={objects} functions={WorkerComposition.FunctionClasses.Count}"));
