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
/// never the address; RowKey = the action. A count-in-a-window row (<see cref="WindowCounterStore"/>): counts change only
/// with ETags, so concurrent requests on any number of instances never lose one.
/// </summary>
public sealed class ClientLimitStore(WindowCounterStore counters)
{
    public const string SignupRowKey = "signup";
    public const string FailedLoginRowKey = "failed-login";
    public const string PasskeyOptionsRowKey = "passkey-options";

    public async Task<ClientCount?> FindAsync(string clientKey, ClientAction action, CancellationToken cancellationToken) =>
        await counters.FindAsync(AppTables.ClientLimits, clientKey, RowKey(action), cancellationToken) is { } row
            ? new ClientCount(row.GetInt32(nameof(CountEntity.Count)) ?? 0, row.GetDateTimeOffset(nameof(CountEntity.WindowStart))?.UtcDateTime ?? default) { ETag = row.ETag }
            : null;

    /// <summary>Writes <paramref name="next"/> if the row is still as <paramref name="read"/> (absent when null); the saved count, or null when another request wrote first.</summary>
    public async Task<ClientCount?> TrySaveAsync(string clientKey, ClientAction action, ClientCount? read, ClientCount next, CancellationToken cancellationToken)
    {
        var entity = new CountEntity { PartitionKey = clientKey, RowKey = RowKey(action), Count = next.Count, WindowStart = next.WindowStart };
        // A lost race costs no read here: the limiter reads the row itself before it tries again.
        return await counters.TrySaveAsync(AppTables.ClientLimits, entity, read?.ETag, isOwnWrite: null, cancellationToken) is { } etag
            ? next with { ETag = etag }
            : null;
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
