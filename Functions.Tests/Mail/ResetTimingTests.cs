using System.Diagnostics;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>
/// docs/api.md: a reset request answers in about the same time whether or not the email has an account. Measured, not
/// assumed: requests for known and unknown emails alternate, and the difference of their medians must stay within the
/// noise the same run measures (the standard error of each median, from its spread).
/// </summary>
public sealed class ResetTimingTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int Accounts = 20;
    private const int RequestsPerEmail = 3;
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Mail:ResetRequestsPerClientPerHour"] = "1000" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task A_reset_request_takes_as_long_for_an_unknown_email_as_for_an_account()
    {
        var known = new List<string>();
        for (var i = 0; i < Accounts; i++)
        {
            known.Add((await app.NewUserAsync("timing")).Email);
        }

        var unknown = Enumerable.Range(0, Accounts).Select(_ => AccountsTestExtensions.UniqueEmail("nobody")).ToList();
        await TimeAsync(known[0]);
        await TimeAsync(unknown[0]);

        var knownTimes = new List<double>();
        var unknownTimes = new List<double>();
        for (var round = 0; round < RequestsPerEmail; round++)
        {
            for (var i = 1; i < Accounts; i++)
            {
                knownTimes.Add(await TimeAsync(known[i]));
                unknownTimes.Add(await TimeAsync(unknown[i]));
            }
        }

        var difference = Math.Abs(Median(knownTimes) - Median(unknownTimes));
        var noise = Math.Sqrt(Math.Pow(StandardErrorOfMedian(knownTimes), 2) + Math.Pow(StandardErrorOfMedian(unknownTimes), 2));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"reset timing: known median {Median(knownTimes):F2} ms, unknown {Median(unknownTimes):F2} ms, difference {difference:F2} ms, noise {noise:F2} ms");
        Assert.True(difference <= 4 * noise,
            $"Known {Median(knownTimes):F2} ms vs unknown {Median(unknownTimes):F2} ms: difference {difference:F2} ms exceeds 4 × noise ({noise:F2} ms).");
    }

    private async Task<double> TimeAsync(string email)
    {
        var watch = Stopwatch.StartNew();
        var response = await app.RequestResetAsync(email);
        watch.Stop();
        Assert.Equal(202, response.Status);
        // The mail goes out after the answer; let it finish so it does not slow the next measured request.
        await app.MailsSentAsync();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // The median's standard error for a roughly normal sample is 1.2533 σ/√n; σ is estimated from the interquartile range,
    // which one slow outlier on a shared machine does not blow up.
    private static double StandardErrorOfMedian(List<double> values)
    {
        var sorted = values.Order().ToList();
        var iqr = sorted[(int)(sorted.Count * 0.75)] - sorted[(int)(sorted.Count * 0.25)];
        return 1.2533 * (iqr / 1.349) / Math.Sqrt(sorted.Count);
    }
}
