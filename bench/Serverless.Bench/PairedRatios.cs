using System.Diagnostics;

namespace Serverless.Bench;

/// <summary>
/// The ratios measured a second way, for a shared, busy machine: the two operations of each ratio alternate
/// call by call (order swapped every round), so a burst of someone else's load falls on both sides alike; the ratio is the
/// median of the per-round ratios. BenchmarkDotNet measures one benchmark after the other, seconds apart.
/// </summary>
public static class PairedRatios
{
    public static Dictionary<string, double> Measure()
    {
        var list = new ListBenchmarks();
        list.Setup();
        var login = new LoginBenchmarks();
        login.Setup();
        return new Dictionary<string, double>
        {
            ["paired: list function ÷ direct query"] = Ratio(list.ListFunctionPage20, list.DirectQueryPage20, 300),
            ["paired: list 100,000 items ÷ 10 items"] = Ratio(list.ListFunction100kPage10, list.ListFunction10Page10, 60),
            ["paired: list 100,000 items, function ÷ direct query"] = Ratio(list.ListFunction100kPage10, list.DirectQuery100kPage10, 60),
            ["paired: login function ÷ Argon2id verification"] = Ratio(login.LoginFunction, () => Task.FromResult(login.Argon2Verify()), 80),
        };
    }

    private const int WarmUpRounds = 100;
    private static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(15);

    internal static double Ratio<TA, TB>(Func<Task<TA>> a, Func<Task<TB>> b, int rounds)
    {
        // Steady state, as on a warm instance: both paths run until tiered compilation has finished with them (the
        // function's path is far more code than the query's). With 5 warm-up rounds the list ratio read 0.02 higher.
        var warmUp = Stopwatch.StartNew();
        for (var i = 0; i < WarmUpRounds || warmUp.Elapsed < WarmUpTime; i++)
        {
            _ = a().GetAwaiter().GetResult();
            _ = b().GetAwaiter().GetResult();
        }

        var ratios = new List<double>(rounds);
        for (var round = 0; round < rounds; round++)
        {
            double timeA, timeB;
            if (round % 2 == 0)
            {
                timeA = Time(a);
                timeB = Time(b);
            }
            else
            {
                timeB = Time(b);
                timeA = Time(a);
            }

            ratios.Add(timeA / timeB);
        }

        ratios.Sort();
        return ratios[ratios.Count / 2];
    }

    internal static double Time<T>(Func<Task<T>> operation)
    {
        var clock = Stopwatch.StartNew();
        _ = operation().GetAwaiter().GetResult();
        return clock.Elapsed.TotalMilliseconds;
    }
}
