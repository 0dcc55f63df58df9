using Microsoft.Azure.Functions.Worker;

namespace Serverless.Functions.Cleanup;

/// <summary>
/// Deletes expired sessions, stale throttle rows, mail rows, passkey challenges and Idempotency-Key rows, and gives outbox rows left without a marker back to the mail drainer, on the schedule in the <c>Cleanup:Schedule</c> setting (six-field
/// cron; hourly in local.settings.json.example and in Bicep). The host runs one instance at a time (a blob lease in host storage).
/// </summary>
public sealed class CleanupFunction(ExpiredRowsCleanup cleanup)
{
    [Function("Cleanup")]
    public Task Run([TimerTrigger("%Cleanup:Schedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        cleanup.RunAsync(cancellationToken);
}
