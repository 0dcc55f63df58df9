using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Storage;

/// <summary>
/// The app's tables, created once per process: the first caller (or the start-up warm-up) runs the creation,
/// everyone else awaits the same task; if storage was down, the next caller tries again, so the app heals without a restart.
/// </summary>
public sealed partial class AppTables
{
    public const string Users = "Users";
    public const string Items = "Items";
    public const string ClientLimits = "ClientLimits";

    /// <summary>Pointers to mails still to send (<see cref="Mail.OutboxStore"/>).</summary>
    public const string Outbox = "Outbox";

    /// <summary>Passkey ceremony challenges, in 5-minute partitions (<see cref="Passkeys.ChallengeStore"/>).</summary>
    public const string PasskeyChallenges = "PasskeyChallenges";

    /// <summary>One row per passkey credential id across all accounts (<see cref="Passkeys.PasskeyStore"/>).</summary>
    public const string PasskeyIds = "PasskeyIds";

    public static readonly IReadOnlyList<string> All = [Users, Items, ClientLimits, Outbox, PasskeyChallenges, PasskeyIds];

    private readonly Dictionary<string, TableClient> clients;
    private readonly ILogger<AppTables> logger;
    private readonly Lock gate = new();
    private Task? ensured;

    public AppTables(TableServiceClient service, ILogger<AppTables> logger, string namePrefix = "")
    {
        this.logger = logger;
        clients = All.ToDictionary(name => name, name => service.GetTableClient(namePrefix + name));
    }

    /// <summary>The client for one of the tables in <see cref="All"/>, once the tables exist.</summary>
    public async ValueTask<TableClient> GetAsync(string table, CancellationToken cancellationToken)
    {
        var creation = EnsureCreatedAsync();
        if (!creation.IsCompletedSuccessfully)
        {
            await creation.WaitAsync(cancellationToken);
        }

        return clients[table];
    }

    public Task EnsureCreatedAsync()
    {
        lock (gate)
        {
            if (ensured is null || ensured.IsFaulted || ensured.IsCanceled)
            {
                ensured = CreateAllAsync();
            }

            return ensured;
        }
    }

    private async Task CreateAllAsync()
    {
        // Not tied to any one request's token: a caller that gives up must not cancel the creation for everyone else.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Task.WhenAll(clients.Values.Select(client => client.CreateIfNotExistsAsync(timeout.Token)));
        LogTablesReady(logger, clients.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{TableCount} tables ready")]
    private static partial void LogTablesReady(ILogger logger, int tableCount);
}
