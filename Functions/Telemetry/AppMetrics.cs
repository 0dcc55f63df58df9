using System.Diagnostics.Metrics;

namespace Serverless.Functions.Telemetry;

public enum LoginOutcome
{
    Success,
    Failure,
    Throttled,
}

/// <summary>
/// The app's own counters, on the "Serverless.Functions" meter: cheap to increment whether or not anything listens,
/// and exported to Application Insights only when telemetry is configured (see <see cref="TelemetryRegistration"/>).
/// </summary>
public sealed class AppMetrics
{
    public const string MeterName = "Serverless.Functions";

    private static readonly KeyValuePair<string, object?>[] OutcomeTags =
    [
        new("outcome", "success"),
        new("outcome", "failure"),
        new("outcome", "throttled"),
    ];

    private readonly Counter<long> signups;
    private readonly Counter<long> logins;
    private readonly Counter<long> refreshReuse;

    public AppMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        signups = meter.CreateCounter<long>("accounts.signups", "{signup}", "Accounts created.");
        logins = meter.CreateCounter<long>("accounts.logins", "{login}", "Login attempts, tagged outcome=success|failure|throttled.");
        refreshReuse = meter.CreateCounter<long>("accounts.refresh_reuse", "{session}",
            "Already-rotated refresh tokens presented again; each revoked its session.");
    }

    public void SignedUp() => signups.Add(1);

    public void LoginAttempted(LoginOutcome outcome) => logins.Add(1, OutcomeTags[(int)outcome]);

    public void RefreshTokenReused() => refreshReuse.Add(1);
}
