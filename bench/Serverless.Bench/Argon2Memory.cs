using System.Diagnostics;
using System.Globalization;
using Serverless.Functions.Accounts;
using Serverless.Functions.Passwords;

namespace Serverless.Bench;

/// <summary>
/// What one Argon2id hash takes in memory, outside the GC's sight (libsodium allocates it natively): the growth of the
/// process's peak resident set (VmHWM) for one hash, for two at once, and for one at ten times the memory setting.
/// Also hashes per second on one thread and on every core. Run in a fresh process; Linux only.
/// </summary>
public static class Argon2Memory
{
    private const int Hashes = 16;

    public static int Run()
    {
        var configured = Argon2Settings.Default;
        _ = PasswordHasher.Hash("warm up", configured with { MemoryKiB = 1024 }); // loads libsodium and jits the path
        var baseline = PeakKiB();

        _ = PasswordHasher.Hash("one", configured);
        var one = PeakKiB() - baseline;
        Parallel.For(0, 2, _ => PasswordHasher.Hash("two at once", configured));
        var two = PeakKiB() - baseline;
        _ = PasswordHasher.Hash("tenfold", configured with { MemoryKiB = configured.MemoryKiB * 10 });
        var tenfold = PeakKiB() - baseline;

        var oneThread = HashesPerSecond(configured, 1);
        var allCores = HashesPerSecond(configured, Environment.ProcessorCount);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            Argon2id m={configured.MemoryKiB} KiB, t={configured.Iterations}, p={configured.Parallelism}
            peak resident growth, one hash:               {one / 1024.0:F1} MiB
            peak resident growth, two hashes at once:     {two / 1024.0:F1} MiB
            peak resident growth, one hash at m x 10:     {tenfold / 1024.0:F1} MiB
            resident now (memory returned after hashing): {CurrentKiB() / 1024.0:F1} MiB
            hashes per second, one thread:                {oneThread:F1}
            hashes per second, {Environment.ProcessorCount} threads:                  {allCores:F1}
            """));
        return 0;
    }

    private static double HashesPerSecond(Argon2Settings settings, int threads)
    {
        var clock = Stopwatch.StartNew();
        Parallel.For(0, Hashes, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => PasswordHasher.Hash("rate " + i, settings));
        return Hashes / clock.Elapsed.TotalSeconds;
    }

    private static long PeakKiB() => StatusKiB("VmHWM:");

    private static long CurrentKiB() => StatusKiB("VmRSS:");

    private static long StatusKiB(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(line => line.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
