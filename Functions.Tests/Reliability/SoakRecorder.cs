using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>How long and how wide the soak runs: SOAK_SECONDS, SOAK_USERS, SOAK_WORKERS_PER_USER; SOAK_REPORT names a file for the figures.</summary>
public sealed record SoakSettings(int Seconds, int Users, int WorkersPerUser, int MaxItemsPerWorker, string? ReportPath)
{
    public const int DefaultSeconds = 30;

    public static SoakSettings FromEnvironment() => new(
        Number("SOAK_SECONDS", DefaultSeconds, 1, 24 * 3600),
        Number("SOAK_USERS", 4, 1, 100),
        Number("SOAK_WORKERS_PER_USER", 2, 1, 16),
        MaxItemsPerWorker: 40,
        Environment.GetEnvironmentVariable("SOAK_REPORT") is { Length: > 0 } path ? path : null);

    private static int Number(string name, int fallback, int min, int max)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new InvalidOperationException($"{name} must be a whole number from {min} to {max}, not '{text}'.");
    }
}

/// <summary>Every request of the soak: its operation, status and time, and the ones answered otherwise than expected.</summary>
public sealed class SoakRecorder
{
    private const int KeptSurprises = 20;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, double Milliseconds)>> byOperation = new();
    private readonly ConcurrentQueue<string> surprises = new();
    private int unexpected;

    public int Unexpected => unexpected;

    public int Requests => byOperation.Values.Sum(queue => queue.Count);

    public IReadOnlyList<string> Surprises => [.. surprises];

    /// <summary>Sends one request, records it, and says whether the answer was one of <paramref name="expected"/>.</summary>
    public async Task<TestResponse> SendAsync(string operation, Func<Task<TestResponse>> send, params int[] expected)
    {
        var clock = Stopwatch.StartNew();
        var response = await send();
        Record(operation, response.Status, clock.Elapsed, expected.Contains(response.Status) ? null : response.ToString());
        return response;
    }

    /// <summary>A request answered as expected whose content was wrong all the same.</summary>
    public void Wrong(string operation, string what)
    {
        Interlocked.Increment(ref unexpected);
        if (surprises.Count < KeptSurprises)
        {
            surprises.Enqueue($"{operation}: {what}");
        }
    }

    public string Report(SoakSettings settings, TimeSpan elapsed, string invariants)
    {
        var all = byOperation.Values.SelectMany(queue => queue).ToList();
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Soak: {elapsed.TotalSeconds:F0} s, {settings.Users} users x {settings.WorkersPerUser} workers, {all.Count} requests "
            + $"({all.Count / elapsed.TotalSeconds:F0}/s), {unexpected} unexpected answers; {invariants}");
        report.AppendLine();
        report.AppendLine("| operation | requests | answers | p50 ms | p95 ms | max ms |");
        report.AppendLine("|---|---:|---|---:|---:|---:|");
        foreach (var (operation, queue) in byOperation.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var samples = queue.ToList();
            var statuses = string.Join(", ", samples.GroupBy(sample => sample.Status).OrderBy(group => group.Key).Select(group => $"{group.Count()}x{group.Key}"));
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {operation} | {samples.Count} | {statuses} | {Percentile(samples, 0.50):F1} | {Percentile(samples, 0.95):F1} | {samples.Max(sample => sample.Milliseconds):F1} |");
        }

        report.AppendLine(CultureInfo.InvariantCulture,
            $"| all | {all.Count} | | {Percentile(all, 0.50):F1} | {Percentile(all, 0.95):F1} | {all.Max(sample => sample.Milliseconds):F1} |");
        return report.ToString();
    }

    private void Record(string operation, int status, TimeSpan elapsed, string? surprise)
    {
        byOperation.GetOrAdd(operation, _ => new()).Enqueue((status, elapsed.TotalMilliseconds));
        if (surprise is not null)
        {
            Wrong(operation, "answered " + surprise);
        }
    }

    private static double Percentile(List<(int Status, double Milliseconds)> samples, double rank)
    {
        var sorted = samples.Select(sample => sample.Milliseconds).Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(rank * sorted.Count) - 1)];
    }
}
