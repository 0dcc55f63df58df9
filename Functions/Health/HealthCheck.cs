using Serverless.Functions.Storage;

namespace Serverless.Functions.Health;

public sealed record HealthReport(string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary>Storage is healthy when a point read on a table answers: one transaction, bounded by a timeout.</summary>
public sealed class HealthCheck(AppTables tables)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    public async Task<bool> TablesAnswerAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var users = await tables.GetAsync(AppTables.Users, timeout.Token);
            await users.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("health", "health", ["PartitionKey"], timeout.Token);
            return true;
        }
        catch (Exception exception) when (StorageFaults.IsUnavailable(exception, cancellationToken))
        {
            return false;
        }
    }
}
