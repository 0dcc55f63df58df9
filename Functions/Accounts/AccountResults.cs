using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Http;

namespace Serverless.Functions.Accounts;

/// <summary>The HTTP answer for each <see cref="AccountOutcome"/>.</summary>
public static class AccountResults
{
    public static ApiResult ToResult(this AccountOutcome outcome, HttpContext httpContext, int successStatus = StatusCodes.Status200OK) => outcome switch
    {
        AccountOutcome.SignedIn signedIn => ApiResult.Json(successStatus, signedIn.Session, ApiJson.Default.Session).WithHeader("Cache-Control", "no-store"),
        AccountOutcome.Invalid invalid => Problems.Validation(httpContext, invalid.Errors),
        AccountOutcome.EmailTaken => Problems.Create(httpContext, StatusCodes.Status409Conflict, "email-taken",
            "This email is already registered.", "Log in instead, or use another email address."),
        AccountOutcome.BadCredentials => Problems.Create(httpContext, StatusCodes.Status401Unauthorized, "invalid-credentials",
            "Unauthorized.", "The email or password is incorrect.").WithHeader("WWW-Authenticate", "Bearer"),
        AccountOutcome.Throttled throttled => Problems.Create(httpContext, StatusCodes.Status429TooManyRequests, "too-many-attempts",
                "Too many failed logins.", "Wait before trying again.")
            .WithHeader("Retry-After", ((int)Math.Ceiling(throttled.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture)),
        AccountOutcome.LoggedOut => ApiResult.Empty(StatusCodes.Status204NoContent),
        AccountOutcome.SessionEnded => Problems.Create(httpContext, StatusCodes.Status401Unauthorized, "invalid-refresh-token",
            "Unauthorized.", "The session has ended; log in again.").WithHeader("WWW-Authenticate", "Bearer"),
        AccountOutcome.AccountGone => BearerAuthenticator.Unauthorized(httpContext, "The account of this access token no longer exists.", tokenSent: true),
        _ => throw new InvalidOperationException($"No HTTP answer for {outcome.GetType().Name}."),
    };
}
