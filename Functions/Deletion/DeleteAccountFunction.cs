using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Accounts;
using Serverless.Functions.Http;

namespace Serverless.Functions.Deletion;

/// <summary><c>DELETE /api/me</c>: the caller deletes their own account, proving their password again.</summary>
public sealed class DeleteAccountFunction(AccountDeletionService deletions)
{
    [Function("DeleteAccount")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.DeleteAccountRequest, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var http = request.HttpContext;
        return await deletions.DeleteAsync(request.GetCaller(), body.Value!, cancellationToken) switch
        {
            DeletionOutcome.Deleted => ApiResult.Empty(StatusCodes.Status204NoContent),
            DeletionOutcome.Invalid invalid => Problems.Validation(http, invalid.Errors),
            DeletionOutcome.Throttled throttled => Problems.Create(http, StatusCodes.Status429TooManyRequests, "too-many-attempts",
                    "Too many failed logins.", "Wait before trying again.")
                .WithHeader("Retry-After", ((int)Math.Ceiling(throttled.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture)),
            DeletionOutcome.Busy busy => new AccountOutcome.Busy(busy.RetryAfter).ToResult(http),
            _ => BearerAuthenticator.Unauthorized(http, "The account of this access token no longer exists.", tokenSent: true),
        };
    }
}
