using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>
/// The bodies and headers the real functions answer with, success and error alike, hold to the OpenAPI document, and
/// the document lists no answer that the functions never give.
/// </summary>
public sealed class OpenApiResponseTests(AzuriteFixture azurite)
{
    private static readonly Lock Gate = new();
    private static Task<IReadOnlyList<Exchange>>? run;

    // Both tests read the same exchanges; the scenarios run once per test run.
    private Task<IReadOnlyList<Exchange>> ExchangesAsync()
    {
        lock (Gate)
        {
            return run ??= ContractScenarios.RunAsync(azurite.ConnectionString);
        }
    }

    [Fact]
    public async Task Every_response_the_functions_give_matches_the_document()
    {
        var exchanges = await ExchangesAsync();

        var mismatches = exchanges
            .SelectMany(exchange => OpenApiContract.Served.Mismatches(exchange.Method, exchange.Path, exchange.Response)
                .Select(problem => $"{exchange}: {problem}"))
            .ToList();

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }

    [Fact]
    public async Task Every_response_in_the_document_is_produced_by_the_functions()
    {
        var exchanges = await ExchangesAsync();
        var produced = exchanges
            .Select(exchange => (exchange.Method, exchange.Path, OpenApiContract.Served.Response(exchange.Method, exchange.Path, exchange.Response.Status)?.Key))
            .ToHashSet();

        // "default" is the unexpected 500 that any operation may give; the scenarios cause it once, not per operation.
        var documented =
            from operation in OpenApiContract.Served.Operations
            from response in OpenApiContract.Served.Operation(operation.Method, operation.Path)!.Value.GetProperty("responses").EnumerateObject()
            where response.Name != "default"
            select (operation.Method, operation.Path, (string?)response.Name);
        var neverProduced = documented.Where(response => !produced.Contains(response)).Select(response => $"{response.Method} {response.Path} {response.Item3}").ToList();

        Assert.True(neverProduced.Count == 0, "Documented but never produced:\n" + string.Join('\n', neverProduced));
        Assert.Contains(produced, response => response.Item3 == "default");
    }
}
