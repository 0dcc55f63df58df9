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
        AccountOutcome.MfaRequired mfa => ApiResult.Json(StatusCodes.Status200OK, mfa.Challenge, ApiJson.Default.MfaChallenge).WithHeader("Cache-Control", "no-store"),
        AccountOutcome.Invalid invalid => Problems.Validation(httpContext, invalid.Errors),
        AccountOutcome.EmailTaken => Problems.Create(httpContext, StatusCodes.Status409Conflict, "email-taken",
            "This email is already registered.", "Log in instead, or use another email address."),
        AccountOutcome.BadCredentials => Problems.Create(httpContext, StatusCodes.Status401Unauthorized, "invalid-credentials",
            "Unauthorized.", "The email or password is incorrect.").WithHeader("WWW-Authenticate", "Bearer"),
        AccountOutcome.Throttled throttled => Problems.Create(httpContext, StatusCodes.Status429TooManyRequests, "too-many-attempts",
                "Too many failed logins.", "Wait before trying again.")
            .WithHeader("Retry-After", Seconds(throttled.RetryAfter)),
        AccountOutcome.ClientLimited limited => Problems.Create(httpContext, StatusCodes.Status429TooManyRequests, "too-many-requests",
                "Too many requests from this address.", "Wait before trying again.")
            .WithHeader("Retry-After", Seconds(limited.RetryAfter)),
        AccountOutcome.Busy busy => Problems.Create(httpContext, StatusCodes.Status503ServiceUnavailable, "busy",
                "The service is busy.", "Too many passwords are being checked right now; try again in a moment.")
            .WithHeader("Retry-After", Seconds(busy.RetryAfter)),
        AccountOutcome.LoggedOut => ApiResult.Empty(StatusCodes.Status204NoContent),
        AccountOutcome.SessionEnded => Problems.Create(httpContext, StatusCodes.Status401Unauthorized, "invalid-refresh-token",
            "Unauthorized.", "The session has ended; log in again.").WithHeader("WWW-Authenticate", "Bearer"),
        AccountOutcome.AccountGone => BearerAuthenticator.Unauthorized(httpContext, "The account of this access token no longer exists.", tokenSent: true),
        _ => throw new InvalidOperationException($"No HTTP answer for {outcome.GetType().Name}."),
    };

    private static string Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
