using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Accounts;
using Serverless.Functions.Http;

namespace Serverless.Functions.Mail;

/// <summary>The HTTP answer for each <see cref="MailOutcome"/>.</summary>
public static class MailResults
{
    public static ApiResult ToResult(this MailOutcome outcome, HttpContext httpContext) => outcome switch
    {
        MailOutcome.Accepted accepted => ApiResult.Json(StatusCodes.Status202Accepted, new MailAccepted("accepted", accepted.Detail), ApiJson.Default.MailAccepted)
            .WithHeader("Cache-Control", "no-store"),
        MailOutcome.Verified => ApiResult.Empty(StatusCodes.Status204NoContent),
        MailOutcome.PasswordReset reset => reset.SignIn.ToResult(httpContext),
        MailOutcome.Invalid invalid => Problems.Validation(httpContext, invalid.Errors),
        MailOutcome.BadToken => Problems.Validation(httpContext,
            new Dictionary<string, string[]> { ["token"] = ["The link is unknown, already used or expired; ask for a new mail."] }),
        MailOutcome.TooSoon tooSoon => Problems.Create(httpContext, StatusCodes.Status429TooManyRequests, "too-many-mails", "Too many mails.", tooSoon.Detail)
            .WithHeader("Retry-After", ((int)Math.Ceiling(tooSoon.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture)),
        MailOutcome.AccountGone => BearerAuthenticator.Unauthorized(httpContext, "The account of this access token no longer exists.", tokenSent: true),
        _ => throw new InvalidOperationException($"No HTTP answer for {outcome.GetType().Name}."),
    };
}
