using Microsoft.AspNetCore.Http;
using Serverless.Functions.Http;

namespace Serverless.Functions.Items;

/// <summary>The HTTP answer for each <see cref="ItemOutcome"/>.</summary>
public static class ItemResults
{
    public static ApiResult ToResult(this ItemOutcome outcome, HttpContext httpContext, int successStatus = StatusCodes.Status200OK) => outcome switch
    {
        ItemOutcome.Done done => ApiResult.Json(successStatus, done.Stored.Item, ApiJson.Default.ItemView)
            .WithHeader("ETag", done.Stored.ETag).WithHeader("Cache-Control", "no-store"),
        ItemOutcome.Deleted => ApiResult.Empty(StatusCodes.Status204NoContent),
        ItemOutcome.Listed listed => ApiResult.Json(StatusCodes.Status200OK, listed.Page, ApiJson.Default.ItemPage).WithHeader("Cache-Control", "no-store"),
        ItemOutcome.AccountGone => BearerAuthenticator.Unauthorized(httpContext, "The account of this access token no longer exists.", tokenSent: true),
        ItemOutcome.Invalid invalid => Problems.Validation(httpContext, invalid.Errors),
        ItemOutcome.NotFound => Problems.NotFound(httpContext, "There is no such item."),
        ItemOutcome.PreconditionFailed => Problems.Create(httpContext, StatusCodes.Status412PreconditionFailed, "precondition-failed",
            "The item has changed.", "If-Match does not match the item's current ETag; fetch it again and retry."),
        ItemOutcome.IdempotencyKeyReused => Problems.Create(httpContext, StatusCodes.Status422UnprocessableEntity, "idempotency-key-reused",
            "The Idempotency-Key was used for another request.",
            "This Idempotency-Key already created an item from a different body within the last 24 hours; send a new key for a new item."),
        ItemOutcome.CreatedItemGone => Problems.NotFound(httpContext, "The item this Idempotency-Key created has been deleted since."),
        _ => throw new InvalidOperationException($"No HTTP answer for {outcome.GetType().Name}."),
    };
}
