using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Limits;

public enum ClientAction
{
    Signup,
    FailedLogin,

    /// <summary>An anonymous passkey ceremony started (each stores a challenge row).</summary>
    PasskeyOptions,
}

/// <summary>One client's count of one action in the current window.</summary>
public sealed record ClientCount(int Count, DateTime WindowStart)
{
    public ETag ETag { get; init; }
}

/// <summary>
/// The ClientLimits table: PartitionKey = the keyed hash of a client address (<see cref="AccountKeys.ClientKeyOf"/>),
/// never the address; RowKey = the action. Counts change only with ETags, so concurrent requests on any number of
/// instances never lose one.
/// </summary>
public sealed class ClientLimitStore(AppTables tables)
{
    public const string SignupRowKey = "signup";
    public const string FailedLoginRowKey = "failed-login";
    public const string PasskeyOptionsRowKey = "passkey-options";

    public async Task<ClientCount?> FindAsync(string clientKey, ClientAction action, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.ClientLimits, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<CountEntity>(clientKey, RowKey(action), cancellationToken: cancellationToken);
        return response.HasValue ? new ClientCount(response.Value!.Count, response.Value.WindowStart) { ETag = response.Value.ETag } : null;
    }

    /// <summary>Writes <paramref name="next"/> if the row is still as <paramref name="read"/> (absent when null); the saved count, or null when another request wrote first.</summary>
    public async Task<ClientCount?> TrySaveAsync(string clientKey, ClientAction action, ClientCount? read, ClientCount next, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.ClientLimits, cancellationToken);
        var entity = new CountEntity { PartitionKey = clientKey, RowKey = RowKey(action), Count = next.Count, WindowStart = next.WindowStart };
        try
        {
            var response = read is null
                ? await table.AddEntityAsync(entity, cancellationToken)
                : await table.UpdateEntityAsync(entity, read.ETag, TableUpdateMode.Replace, cancellationToken);
            return next with { ETag = response.Headers.ETag ?? default };
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return null;
        }
    }

    private static string RowKey(ClientAction action) => action switch
    {
        ClientAction.Signup => SignupRowKey,
        ClientAction.FailedLogin => FailedLoginRowKey,
        _ => PasskeyOptionsRowKey,
    };

    private sealed class CountEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public int Count { get; set; }
        public DateTime WindowStart { get; set; }
    }
}
