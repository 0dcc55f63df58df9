using Microsoft.Azure.Functions.Worker;

namespace Serverless.Functions.Deletion;

/// <summary>
/// Runs <see cref="PurgeRecovery"/> on the schedule in the <c>Purge:RecoverySchedule</c> setting (six-field cron; hourly,
/// half past, in local.settings.json.example and in Bicep, so it does not start with the expired-rows cleanup). The host
/// runs one instance at a time (a blob lease in host storage); two at once would still enqueue each purge once.
/// </summary>
public sealed class PurgeRecoveryFunction(PurgeRecovery recovery)
{
    public const string ScheduleSetting = "Purge:RecoverySchedule";

    [Function("PurgeRecovery")]
    public Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken) =>
        recovery.RunAsync(cancellationToken);
}
