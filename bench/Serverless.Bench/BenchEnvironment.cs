using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.ColdStart;
using Serverless.Functions;
using Serverless.Functions.Accounts;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;
using Serverless.Functions.Tokens;

namespace Serverless.Bench;

/// <summary>
/// Two Azurites and the app composed on each, for the whole run (the benchmarks run in this process):
/// <list type="bullet">
/// <item><see cref="App"/>: an in-memory Azurite seeded at every run, with a user of 50 items, a user of 10 items and a user who logs in;</item>
/// <item><see cref="BigApp"/>: a persistent Azurite (tables prefixed "Big") whose Items hold a user of 100,000 items and one of 10,
/// seeded once per machine and only read by the benchmarks.</item>
/// </list>
/// Apart because Azurite, unlike Table Storage, scans the whole table for every query, and because a persistent Azurite
/// rewrites its whole database file (tens of MB with the 100,000 items) a few seconds after any write, stalling requests.
/// </summary>
public sealed class BenchEnvironment
{
    public const int LargePartitionItems = 100_000;
    public const string BigPrefix = "Big";
    public const string Password = "correct horse battery staple";
    public const string LoginEmail = "bench-login@example.com";

    // Fixed ids, so seeded data on disk is found again by later runs.
    public const string LargeUserId = "b0000000000000000000000000100000";
    public const string SmallUserId = "b0000000000000000000000000000010";
    public const string PagedUserId = "b0000000000000000000000000000050";

    private static readonly Lazy<Task<BenchEnvironment>> Shared = new(CreateAsync);

    private BenchEnvironment(AzuriteServer azurite, BenchAzurite bigAzurite, ServiceProvider app, ServiceProvider bigApp)
    {
        Azurite = azurite;
        BigAzurite = bigAzurite;
        App = app;
        BigApp = bigApp;
    }

    public AzuriteServer Azurite { get; }

    public BenchAzurite BigAzurite { get; }

    public ServiceProvider App { get; }

    public ServiceProvider BigApp { get; }

    public static BenchEnvironment Get() => Shared.Value.GetAwaiter().GetResult();

    public static TableClient Table(IServiceProvider app, string name) => app.GetRequiredService<AppTables>().GetAsync(name, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>A bearer token for the user, as a client would send it.</summary>
    public string AccessTokenFor(string userId) => App.GetRequiredService<AccessTokens>().Issue(userId, "bench-" + userId);

    private static async Task<BenchEnvironment> CreateAsync()
    {
        var azurite = await AzuriteServer.StartAsync();
        var bigAzurite = await BenchAzurite.StartAsync();
        var environment = new BenchEnvironment(
            azurite, bigAzurite, Compose(azurite.ConnectionString, ""), Compose(bigAzurite.ConnectionString, BigPrefix));
        await environment.App.GetRequiredService<AppTables>().EnsureCreatedAsync();
        await environment.BigApp.GetRequiredService<AppTables>().EnsureCreatedAsync();
        await environment.SeedAsync();
        return environment;
    }

    // The app's composition with no log provider: what logging costs depends on where the host sends it, not on this code.
    private static ServiceProvider Compose(string connectionString, string tablePrefix)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerComposition.LocalSettings(connectionString)).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddServerlessApp(configuration);
        services.AddSingleton(provider => new AppTables(
            provider.GetRequiredService<TableServiceClient>(), provider.GetRequiredService<ILogger<AppTables>>(), tablePrefix));
        return services.BuildServiceProvider();
    }

    private async Task SeedAsync()
    {
        // Seeding goes through a client of its own: the app's gives up after 2 seconds, and a batch can take longer on Azurite.
        var items = new TableServiceClient(Azurite.ConnectionString).GetTableClient(AppTables.Items);
        var bigItems = new TableServiceClient(BigAzurite.ConnectionString).GetTableClient(BigPrefix + AppTables.Items);
        await SeedOnceAsync(items, "seed-small", persistent: false, async () =>
        {
            await SeedItemsAsync(items, PagedUserId, 50);
            await SeedItemsAsync(items, SmallUserId, 10);
        });
        await SeedOnceAsync(bigItems, "seed-small", persistent: true, () => SeedItemsAsync(bigItems, SmallUserId, 10));
        await SeedOnceAsync(bigItems, "seed-large", persistent: true, () => SeedItemsAsync(bigItems, LargeUserId, LargePartitionItems));

        // Every user's partition holds its owner marker (signup makes it), or the items routes take the account for deleted.
        // Upserted every run, so a big Azurite seeded before markers existed gets them too.
        await items.UpsertEntityAsync(new TableEntity(PagedUserId, ItemStore.MarkerRowKey));
        await items.UpsertEntityAsync(new TableEntity(SmallUserId, ItemStore.MarkerRowKey));
        await bigItems.UpsertEntityAsync(new TableEntity(SmallUserId, ItemStore.MarkerRowKey));
        await bigItems.UpsertEntityAsync(new TableEntity(LargeUserId, ItemStore.MarkerRowKey));

        var signup = await App.GetRequiredService<AccountService>().SignupAsync(new SignupRequest(LoginEmail, Password, "Bench"), "bench", userAgent: null, CancellationToken.None);
        if (signup is not (AccountOutcome.SignedIn or AccountOutcome.EmailTaken))
        {
            throw new InvalidOperationException($"The benchmark user could not sign up: {signup}.");
        }
    }

    /// <summary>Runs a seeding step unless its marker row (partition "seed", outside every user's partition) says it ran.</summary>
    private static async Task SeedOnceAsync(TableClient table, string marker, bool persistent, Func<Task> seed)
    {
        if ((await table.GetEntityIfExistsAsync<TableEntity>("seed", marker)).HasValue)
        {
            return;
        }

        Console.WriteLine($"// Seeding {table.Name} ({marker}).");
        await seed();
        await table.AddEntityAsync(new TableEntity("seed", marker));
        if (persistent)
        {
            await BenchAzurite.WaitForSaveAsync();
        }
    }

    /// <summary>Batches of 100 (the most one transaction takes) in the item shape ItemStore writes.</summary>
    private static async Task SeedItemsAsync(TableClient table, string userId, int count)
    {
        var start = DateTime.UtcNow;
        for (var first = 0; first < count; first += 100)
        {
            var actions = Enumerable.Range(first, Math.Min(100, count - first)).Select(i =>
            {
                var createdAt = start.AddMilliseconds(-i);
                var entity = new TableEntity(userId, ItemId.New(createdAt))
                {
                    ["Title"] = "Item number " + i,
                    ["Description"] = i % 2 == 0 ? "" : "A description of moderate length for item " + i,
                    ["CreatedAt"] = createdAt,
                    ["UpdatedAt"] = createdAt,
                };
                return new TableTransactionAction(TableTransactionActionType.Add, entity);
            });
            await table.SubmitTransactionAsync(actions);
            if ((first + 100) % 10_000 == 0)
            {
                Console.WriteLine($"// seeded {first + 100:N0} of {count:N0} items for {userId} in {DateTime.UtcNow - start:mm\\:ss}");
            }
        }
    }
}
