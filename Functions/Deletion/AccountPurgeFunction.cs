using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Deletion;

/// <summary>
/// Purges a deleted account's items in the background, one message per run (<see cref="AccountDeletionService.PurgeAsync"/>).
/// A run that fails or dies leaves its message on the queue, and the host delivers it again (host.json: extensions.queues).
/// </summary>
public sealed partial class AccountPurgeFunction(AccountDeletionService deletions, ILogger<AccountPurgeFunction> logger)
{
    [Function("PurgeAccount")]
    public async Task Run([QueueTrigger(PurgeJobs.Name, Connection = PurgeJobs.Connection)] string message, CancellationToken cancellationToken)
    {
        if (PurgeJobs.Parse(message) is not { } purge)
        {
            LogIgnored(logger);
            return;
        }

        await deletions.PurgeAsync(purge, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A purge message that this app did not write was ignored")]
    private static partial void LogIgnored(ILogger logger);
}
