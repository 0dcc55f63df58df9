using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Telemetry;

public sealed class AccountTelemetryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Account_events_are_logged_with_user_and_trace_ids_and_counted_without_secrets()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = TestApp.Create(azurite.ConnectionString, clock);
        using var counters = new CounterCapture(app.Services.GetRequiredService<IMeterFactory>());
        var email = AccountsTestExtensions.UniqueEmail("observed");
        const string wrongPassword = "a wrong but memorable password";

        // Each request runs in a trace, as it does under the Functions host.
        using var trace = new Activity("telemetry-test").Start();
        var signup = await app.SignupAsync(email);
        var failed = await app.LoginAsync(email, wrongPassword);
        var login = await app.LoginAsync(email);
        var rotated = await app.RefreshAsync(login.Json.GetProperty("refreshToken").GetString()!);
        clock.Advance(SessionService.ConcurrentRefreshGrace);
        await app.RefreshAsync(login.Json.GetProperty("refreshToken").GetString()!);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await app.LoginAsync(email, wrongPassword);
        }

        var throttled = await app.LoginAsync(email);

        var user = SignedInUser.From(email, signup.Json);
        var traceId = trace.TraceId.ToHexString();
        Assert.Equal(429, throttled.Status);
        Assert.Equal(traceId, failed.Json.GetProperty("traceId").GetString());
        AssertLogged(app, "signed up", ("UserId", user.Id), ("TraceId", traceId));
        AssertLogged(app, "logged in", ("UserId", user.Id), ("TraceId", traceId));
        AssertLogged(app, "Login failed", ("TraceId", traceId));
        AssertLogged(app, "Login throttled", ("TraceId", traceId));
        AssertLogged(app, "Refresh token reuse", ("UserId", user.Id), ("TraceId", traceId));

        Assert.Equal(1, counters.Total("accounts.signups"));
        Assert.Equal(1, counters.Total("accounts.logins", "success"));
        Assert.Equal(6, counters.Total("accounts.logins", "failure")); // one, reset by the success, then five that lock
        Assert.Equal(1, counters.Total("accounts.logins", "throttled"));
        Assert.Equal(1, counters.Total("accounts.refresh_reuse"));

        var logs = app.Logs.AllText;
        string[] secrets =
        [
            AccountsTestExtensions.GoodPassword, wrongPassword, email, email.Split('@')[0], "$argon2id", user.AccessToken, user.RefreshToken,
            login.Json.GetProperty("accessToken").GetString()!, rotated.Json.GetProperty("refreshToken").GetString()!, app.AccountKey(email),
        ];
        foreach (var secret in secrets)
        {
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"The logs hold '{secret}':\n{logs}");
        }

        Assert.DoesNotContain(counters.Tags, tag => secrets.Any(secret => tag.Contains(secret, StringComparison.Ordinal)));
    }

    private static void AssertLogged(TestApp app, string text, params (string Name, string Value)[] properties)
    {
        // Properties of a structured template ({OriginalFormat} is the template), not text pasted into the message.
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains(text, StringComparison.Ordinal)
            && entry.State.Any(kv => kv.Key == "{OriginalFormat}")
            && properties.All(property => entry.State.Any(kv => kv.Key == property.Name && Equals(kv.Value, property.Value))));
    }

    /// <summary>Listens to the counters of one app's meter factory only, so parallel tests do not count into each other.</summary>
    private sealed class CounterCapture : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly ConcurrentQueue<(string Instrument, string? Outcome, long Value)> measurements = new();

        public CounterCapture(IMeterFactory scope)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == AppMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? outcome = null;
                foreach (var tag in tags)
                {
                    Tags.Enqueue($"{tag.Key}={tag.Value}");
                    outcome = tag.Key == "outcome" ? tag.Value as string : outcome;
                }

                measurements.Enqueue((instrument.Name, outcome, value));
            });
            listener.Start();
        }

        public ConcurrentQueue<string> Tags { get; } = new();

        public long Total(string instrument, string? outcome = null) =>
            measurements.Where(m => m.Instrument == instrument && (outcome is null || m.Outcome == outcome)).Sum(m => m.Value);

        public void Dispose() => listener.Dispose();
    }
}
