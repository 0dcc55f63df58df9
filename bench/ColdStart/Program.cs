using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Serverless.ColdStart;
using Serverless.Functions.Accounts;

// One cold composition per process: bench/cold-start.sh runs this many times, published with and without ReadyToRun,
// and times each process from its start to its exit as well.
var clock = Stopwatch.StartNew();
using var host = WorkerComposition.Build(WorkerComposition.LocalSettings(), out var registrations);
var built = clock.Elapsed;

// What the first account request (signup, login, refresh, logout, me) pays to get its function class, as the worker makes it.
using (var scope = host.Services.CreateScope())
{
    _ = ActivatorUtilities.CreateInstance<AccountFunctions>(scope.ServiceProvider);
}

var accountFunctions = clock.Elapsed;
var objects = WorkerComposition.ResolveAll(host, registrations);
var resolved = clock.Elapsed;

// The worker's resident memory once composed: the baseline that concurrent Argon2id hashes add to (Linux only).
var residentMiB = File.ReadLines("/proc/self/status").First(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
    .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"build_ms={built.TotalMilliseconds:F1} account_functions_ms={(accountFunctions - built).TotalMilliseconds:F1} resolve_ms={(resolved - built).TotalMilliseconds:F1} composition_ms={resolved.TotalMilliseconds:F1} objects={objects} functions={WorkerComposition.FunctionClasses.Count} rss_mib={long.Parse(residentMiB, CultureInfo.InvariantCulture) / 1024}"));
