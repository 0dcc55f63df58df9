using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.ColdStart;
using Serverless.Functions;
using Serverless.Functions.Accounts;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Bench;

/// <summary>
/// One Azurite and one composed app for the whole run (the benchmarks run in this process), with the data they read:
/// a user whose partition holds 100,000 items, one with 10, and one who logs in.
/// </summary>
public sealed class BenchEnvironment
{
    public const int LargePartitionItems = 100_000;
    public const int SmallPartitionItems = 10;
    public const string Password = "correct horse battery staple";

    private static readonly Lazy<Task<BenchEnvironment>> Shared = new(CreateAsync);

    private BenchEnvironment(AzuriteServer azurite, ServiceProvider services)
    {
        Azurite = azurite;
        Services = services;
    }

    public AzuriteServer Azurite { get; }

    public ServiceProvider Services { get; }

    public string LargeUserId { get; private set; } = "";

    public string SmallUserId { get; private set; } = "";

    public string LoginEmail { get; private set; } = "";

    public static BenchEnvironment Get() => Shared.Value.GetAwaiter().GetResult();

    public TableClient Table(string name) => Services.GetRequiredService<TableServiceClient>().GetTableClient(name);

    /// <summary>A bearer token for the user, as a client would send it.</summary>
    public string AccessTokenFor(string userId) => Services.GetRequiredService<AccessTokens>().Issue(userId, "bench-" + userId);

    private static async Task<BenchEnvironment> CreateAsync()
    {
        var azurite = await AzuriteServer.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerComposition.LocalSettings(azurite.ConnectionString)).Build();
        // The app's composition with no log provider: what logging costs depends on where the host sends it, not on this code.
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddServerlessApp(configuration);
        var environment = new BenchEnvironment(azurite, services.BuildServiceProvider());
        await environment.Services.GetRequiredService<AppTables>().EnsureCreatedAsync();
        await environment.SeedAsync();
        return environment;
    }

    private async Task SeedAsync()
    {
        LargeUserId = Guid.CreateVersion7().ToString("N");
        SmallUserId = Guid.CreateVersion7().ToString("N");
        var items = Table(AppTables.Items);
        await Task.WhenAll(SeedItemsAsync(items, LargeUserId, LargePartitionItems), SeedItemsAsync(items, SmallUserId, SmallPartitionItems));

        LoginEmail = $"bench.{Guid.NewGuid():N}@example.com";
        var signup = await Services.GetRequiredService<AccountService>().SignupAsync(new SignupRequest(LoginEmail, Password, "Bench"), CancellationToken.None);
        if (signup is not AccountOutcome.SignedIn)
        {
            throw new InvalidOperationException($"The benchmark user could not sign up: {signup}.");
        }
    }

    /// <summary>Batches of 100 (the most one transaction takes) in the item shape ItemStore writes, a few batches at a time.</summary>
    private static async Task SeedItemsAsync(TableClient table, string userId, int count)
    {
        var start = DateTime.UtcNow;
        var batches = Enumerable.Range(0, (count + 99) / 100).Select(batch => Enumerable.Range(batch * 100, Math.Min(100, count - (batch * 100))));
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (batch, cancellationToken) =>
        {
            var actions = batch.Select(i =>
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
            await table.SubmitTransactionAsync(actions, cancellationToken);
        });
    }
}
