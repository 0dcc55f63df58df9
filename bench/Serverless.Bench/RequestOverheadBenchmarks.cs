using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Http;
using Serverless.Functions.Items;

namespace Serverless.Bench;

/// <summary>
/// Where a list request's time and allocations go besides storage: the bearer check every protected request runs,
/// and writing a page of 20 items as JSON.
/// </summary>
public class RequestOverheadBenchmarks
{
    private BearerAuthenticator authenticator = null!;
    private string token = "";
    private ItemPage page = null!;

    [GlobalSetup]
    public void Setup()
    {
        var environment = BenchEnvironment.Get();
        authenticator = environment.App.GetRequiredService<BearerAuthenticator>();
        token = environment.AccessTokenFor(BenchEnvironment.PagedUserId);
        var now = DateTime.UtcNow;
        page = new ItemPage(
            [.. Enumerable.Range(0, 20).Select(i => new ItemView(ItemId.New(now.AddMilliseconds(-i)), "Item number " + i,
                i % 2 == 0 ? null : "A description of moderate length for item " + i, now, now))],
            "c29tZSBjb250aW51YXRpb24gdG9rZW4.AAAAAAAAAAAAAAAAAAAAAA");
    }

    [Benchmark]
    public async Task<bool> AuthenticateBearer() =>
        await authenticator.AuthenticateAsync(WorkerInvocation.Request("GET", "/api/items", bearer: token)) is null;

    [Benchmark]
    public async Task<int> WritePage20()
    {
        var context = WorkerInvocation.Request("GET", "/api/items");
        await ApiResult.Json(StatusCodes.Status200OK, page, ApiJson.Default.ItemPage).WriteAsync(context);
        return context.Response.StatusCode;
    }
}
