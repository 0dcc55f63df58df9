using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Accounts;
using Serverless.Functions.Http;

namespace Serverless.Functions.Passkeys;

/// <summary>The HTTP answer for each <see cref="PasskeyOutcome"/>.</summary>
public static class PasskeyResults
{
    public static ApiResult ToResult(this PasskeyOutcome outcome, HttpContext httpContext, int successStatus = StatusCodes.Status200OK) => outcome switch
    {
        PasskeyOutcome.Options options => ApiResult.Bytes(StatusCodes.Status200OK, Encoding.UTF8.GetBytes(options.Json), "application/json; charset=utf-8")
            .WithHeader("Cache-Control", "no-store"),
        PasskeyOutcome.Registered registered => ApiResult.Json(StatusCodes.Status201Created, registered.Passkey, ApiJson.Default.PasskeyView)
            .WithHeader("Location", "/api/me/passkeys"),
        PasskeyOutcome.Renamed renamed => ApiResult.Json(StatusCodes.Status200OK, renamed.Passkey, ApiJson.Default.PasskeyView),
        PasskeyOutcome.Deleted => ApiResult.Empty(StatusCodes.Status204NoContent),
        PasskeyOutcome.SignedIn signedIn => new AccountOutcome.SignedIn(signedIn.Session).ToResult(httpContext, successStatus),
        PasskeyOutcome.Invalid invalid => Problems.Validation(httpContext, invalid.Errors),
        PasskeyOutcome.Refused => Problems.Create(httpContext, StatusCodes.Status400BadRequest, "passkey-refused",
            "The passkey was not accepted.", "Its challenge was used, expired or not issued here, or the browser's answer did not verify. Start again."),
        PasskeyOutcome.BadCredentials => Problems.Create(httpContext, StatusCodes.Status401Unauthorized, "invalid-credentials",
            "Unauthorized.", "The passkey was not accepted.").WithHeader("WWW-Authenticate", "Bearer"),
        PasskeyOutcome.CredentialTaken => Problems.Create(httpContext, StatusCodes.Status409Conflict, "passkey-taken",
            "This passkey is registered already.", "This authenticator's credential belongs to an account already; make a new passkey instead."),
        PasskeyOutcome.EmailTaken => new AccountOutcome.EmailTaken().ToResult(httpContext),
        PasskeyOutcome.LastWayIn => Problems.Create(httpContext, StatusCodes.Status409Conflict, "last-sign-in-method",
            "This is the account's last way to sign in.", "Add a password (through a password reset) or another passkey first."),
        PasskeyOutcome.NotFound => Problems.NotFound(httpContext, "You have no passkey with this id."),
        PasskeyOutcome.ClientLimited limited => new AccountOutcome.ClientLimited(limited.RetryAfter).ToResult(httpContext),
        PasskeyOutcome.AccountGone => BearerAuthenticator.Unauthorized(httpContext, "The account of this access token no longer exists.", tokenSent: true),
        _ => throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"No HTTP answer for {outcome.GetType().Name}.")),
    };
}
