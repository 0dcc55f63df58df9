using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;

namespace Serverless.Functions.Items;

/// <summary>The Items routes of docs/api.md; all need a signed-in caller and touch only that caller's items.</summary>
public sealed class ItemFunctions(ItemService items)
{
    [Function("ListItems")]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items")] HttpRequest request, CancellationToken cancellationToken) =>
        (await items.ListAsync(request.GetCaller().UserId, Single(request, "limit"), Single(request, "cursor"), cancellationToken))
            .ToResult(request.HttpContext);

    [Function("CreateItem")]
    public async Task<IActionResult> Create(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "items")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.ItemRequest, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var outcome = await items.CreateAsync(request.GetCaller().UserId, body.Value!, Single(request.Headers, ItemService.IdempotencyKeyHeader), cancellationToken);
        var result = outcome.ToResult(request.HttpContext, StatusCodes.Status201Created);
        return outcome is ItemOutcome.Done done ? result.WithHeader("Location", "/api/items/" + done.Stored.Item.Id) : result;
    }

    [Function("GetItem")]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id}")] HttpRequest request, string id, CancellationToken cancellationToken) =>
        (await items.GetAsync(request.GetCaller().UserId, id, cancellationToken)).ToResult(request.HttpContext);

    [Function("UpdateItem")]
    public async Task<IActionResult> Update(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "items/{id}")] HttpRequest request, string id, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.ItemRequest, cancellationToken);
        return body.Problem
            ?? (await items.UpdateAsync(request.GetCaller().UserId, id, body.Value!, request.Headers.IfMatch.ToString(), cancellationToken))
                .ToResult(request.HttpContext);
    }

    [Function("DeleteItem")]
    public async Task<IActionResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "items/{id}")] HttpRequest request, string id, CancellationToken cancellationToken) =>
        (await items.DeleteAsync(request.GetCaller().UserId, id, request.Headers.IfMatch.ToString(), cancellationToken)).ToResult(request.HttpContext);

    // A repeated query parameter is as wrong as a malformed one; "limit=1&limit=2" is not quietly the first.
    private static string? Single(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) ? (values.Count == 1 ? values[0] ?? "" : "") : null;

    // The same for a header: two Idempotency-Key headers are no key at all, not the first one.
    private static string? Single(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) ? (values.Count == 1 ? values[0] ?? "" : "") : null;
}
