using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Accounts;
using Serverless.Functions.Passwords;
using Serverless.Functions.Storage;

namespace Serverless.Bench;

/// <summary>
/// Where the login function's time over one Argon2id verification goes: the service (two storage round trips around
/// the hash, the tokens), then the invocation (DI scope, function class, JSON in and out); and, for scale, what one
/// storage round trip to this Azurite costs against the hash.
/// </summary>
public static class LoginBreakdown
{
    private const int Rounds = 120;

    public static int Run()
    {
        var login = new LoginBenchmarks();
        login.Setup();
        var app = BenchEnvironment.Get().App;
        var service = app.GetRequiredService<AccountService>();
        var users = BenchEnvironment.Table(app, AppTables.Users);
        var accountKey = app.GetRequiredService<AccountKeys>().KeyOf(BenchEnvironment.LoginEmail);
        var request = new LoginRequest(BenchEnvironment.LoginEmail, BenchEnvironment.Password);

        Task<PasswordCheck> Verify() => Task.FromResult(login.Argon2Verify());
        async Task<bool> Service() => await service.LoginAsync(request, "bench", userAgent: null, CancellationToken.None) is AccountOutcome.SignedIn;
        async Task<bool> RoundTrip() =>
            (await users.GetEntityIfExistsAsync<TableEntity>(accountKey, accountKey, cancellationToken: CancellationToken.None)).HasValue;
        async Task<bool> VerifyAndTwoRoundTrips() => await RoundTrip() && Verify().Result != PasswordCheck.Wrong && await RoundTrip();

        Console.WriteLine($"Argon2id + 2 point reads ÷ Argon2id:      {PairedRatios.Ratio(VerifyAndTwoRoundTrips, Verify, Rounds):F3}");
        Console.WriteLine($"service login ÷ Argon2id:                 {PairedRatios.Ratio(Service, Verify, Rounds):F3}");
        Console.WriteLine($"function ÷ service login:                 {PairedRatios.Ratio(login.LoginFunction, Service, Rounds):F3}");
        Console.WriteLine($"function ÷ Argon2id:                      {PairedRatios.Ratio(login.LoginFunction, Verify, Rounds):F3}");

        // The same point read, timed alone in a loop and timed right after a hash (which has just swept 19 MiB through
        // the caches): the difference is what storage round trips cost a login beyond what they cost a list request.
        Console.WriteLine($"one point read, in a loop:                {MedianMilliseconds(RoundTrip, before: null):F2} ms");
        Console.WriteLine($"one point read, right after a hash:       {MedianMilliseconds(RoundTrip, before: () => Verify().Wait()):F2} ms");
        return 0;
    }

    private static double MedianMilliseconds(Func<Task<bool>> operation, Action? before)
    {
        var times = new List<double>(Rounds);
        for (var round = 0; round < Rounds; round++)
        {
            before?.Invoke();
            times.Add(PairedRatios.Time(operation));
        }

        times.Sort();
        return times[times.Count / 2];
    }
}
