using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Http;
using Serverless.Functions.Items;

namespace Serverless.Bench;

/// <summary>
/// Where the list function's time over the direct query goes, layer by layer, each measured as a paired ratio
/// against the layer below it: the store's query, the service (limit, cursor), the bearer check, and the invocation
/// (DI scope, function class, JSON written to the response).
/// </summary>
public static class ListBreakdown
{
    private const int Rounds = 600;

    public static int Run()
    {
        var list = new ListBenchmarks();
        list.Setup();
        var environment = BenchEnvironment.Get();
        var store = environment.App.GetRequiredService<ItemStore>();
        var service = environment.App.GetRequiredService<ItemService>();
        var authenticator = environment.App.GetRequiredService<BearerAuthenticator>();
        var token = environment.AccessTokenFor(BenchEnvironment.PagedUserId);

        async Task<int> Store() => (await store.ListAsync(BenchEnvironment.PagedUserId, 20, null, CancellationToken.None)).Items.Count;
        async Task<int> Service() => ((ItemOutcome.Listed)await service.ListAsync(BenchEnvironment.PagedUserId, "20", null, CancellationToken.None)).Page.Items.Count;
        async Task<int> CheckedService() =>
            await authenticator.AuthenticateAsync(WorkerInvocation.Request("GET", "/api/items", "?limit=20", token)) is null ? await Service() : 0;

        Console.WriteLine($"store ÷ direct query:                     {PairedRatios.Ratio(Store, list.DirectQueryPage20, Rounds):F3}");
        Console.WriteLine($"service ÷ store:                          {PairedRatios.Ratio(Service, Store, Rounds):F3}");
        Console.WriteLine($"bearer check + service ÷ service:         {PairedRatios.Ratio(CheckedService, Service, Rounds):F3}");
        Console.WriteLine($"function ÷ bearer check + service:        {PairedRatios.Ratio(list.ListFunctionPage20, CheckedService, Rounds):F3}");
        Console.WriteLine($"function ÷ direct query:                  {PairedRatios.Ratio(list.ListFunctionPage20, list.DirectQueryPage20, Rounds):F3}");
        return 0;
    }
}
