using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Accounts;
using Serverless.Functions.Http;

namespace Serverless.Functions.Mfa;

/// <summary>The two-step sign-in routes of docs/api.md: each parses the body, calls one service method and maps the outcome.</summary>
public sealed class MfaFunctions(MfaService mfa)
{
    [Function("MfaTotpEnrol")]
    public async Task<IActionResult> Enrol(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/mfa/totp")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.MfaProofRequest, cancellationToken);
        return body.Problem ?? ToResult(await mfa.EnrolAsync(request.GetCaller(), body.Value!, cancellationToken), request.HttpContext);
    }

    [Function("MfaTotpConfirm")]
    public async Task<IActionResult> Confirm(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/mfa/totp/confirm")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.TotpConfirmRequest, cancellationToken);
        return body.Problem ?? ToResult(await mfa.ConfirmAsync(request.GetCaller(), body.Value!, cancellationToken), request.HttpContext);
    }

    [Function("MfaTotpDisable")]
    public async Task<IActionResult> Disable(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me/mfa/totp")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.MfaProofRequest, cancellationToken);
        return body.Problem ?? ToResult(await mfa.DisableAsync(request.GetCaller(), body.Value!, cancellationToken), request.HttpContext);
    }

    [Function("MfaRecoveryCodes")]
    public async Task<IActionResult> RecoveryCodes(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/mfa/recovery-codes")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.MfaProofRequest, cancellationToken);
        return body.Problem ?? ToResult(await mfa.RenewRecoveryCodesAsync(request.GetCaller(), body.Value!, cancellationToken), request.HttpContext);
    }

    [Function("LoginMfa")]
    [AllowAnonymous]
    public async Task<IActionResult> LoginMfa(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/login/mfa")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.MfaLoginRequest, cancellationToken);
        return body.Problem ?? ToResult(await mfa.FinishSignInAsync(body.Value!, request.Headers.UserAgent.ToString(), cancellationToken), request.HttpContext);
    }

    private static ApiResult ToResult(MfaOutcome outcome, HttpContext http) => outcome switch
    {
        MfaOutcome.Enrolled enrolled => ApiResult.Json(StatusCodes.Status200OK, enrolled.Enrolment, ApiJson.Default.TotpEnrolment).WithHeader("Cache-Control", "no-store"),
        MfaOutcome.Codes codes => ApiResult.Json(StatusCodes.Status200OK, codes.List, ApiJson.Default.RecoveryCodeList).WithHeader("Cache-Control", "no-store"),
        MfaOutcome.Disabled => ApiResult.Empty(StatusCodes.Status204NoContent),
        MfaOutcome.SignIn signIn => signIn.Outcome.ToResult(http),
        MfaOutcome.Refused => Problems.Create(http, StatusCodes.Status401Unauthorized, "invalid-second-factor", "Unauthorized.",
            "The code or recovery code is not correct, or the sign-in expired: enter a current code, or sign in again.").WithHeader("WWW-Authenticate", "Bearer"),
        MfaOutcome.Invalid invalid => Problems.Validation(http, invalid.Errors),
        MfaOutcome.AlreadyOn => Problems.Create(http, StatusCodes.Status409Conflict, "mfa-on", "Two-step sign-in is on already.",
            "Turn it off first to set up another authenticator app."),
        MfaOutcome.NotOn => Problems.Create(http, StatusCodes.Status409Conflict, "mfa-off", "Two-step sign-in is off.", "Turn it on first."),
        MfaOutcome.Throttled throttled => Problems.Create(http, StatusCodes.Status429TooManyRequests, "too-many-attempts",
                "Too many failed logins.", "Wait before trying again.")
            .WithHeader("Retry-After", Seconds(throttled.RetryAfter)),
        MfaOutcome.Busy busy => new AccountOutcome.Busy(busy.RetryAfter).ToResult(http),
        _ => BearerAuthenticator.Unauthorized(http, "The account of this access token no longer exists.", tokenSent: true),
    };

    private static string Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
