using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;

namespace Serverless.Functions.Mail;

/// <summary>The Mail routes of docs/api.md: each parses the body, calls one service method and maps the outcome.</summary>
public sealed class MailFunctions(MailService mail, ClientAddresses clients)
{
    [Function("VerifyEmail")]
    [AllowAnonymous]
    public async Task<IActionResult> VerifyEmail(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/verify-email")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.VerifyEmailRequest, cancellationToken);
        return body.Problem ?? (await mail.VerifyEmailAsync(body.Value!, cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("SendVerificationEmail")]
    public async Task<IActionResult> SendVerificationEmail(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/verification-email")] HttpRequest request, CancellationToken cancellationToken) =>
        (await mail.SendVerificationAsync(request.GetCaller(), cancellationToken)).ToResult(request.HttpContext);

    [Function("PasswordReset")]
    [AllowAnonymous]
    public async Task<IActionResult> PasswordReset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/password-reset")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasswordResetRequest, cancellationToken);
        return body.Problem
            ?? (await mail.RequestPasswordResetAsync(body.Value!, clients.Of(request), cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("PasswordResetConfirm")]
    [AllowAnonymous]
    public async Task<IActionResult> PasswordResetConfirm(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/password-reset/confirm")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasswordResetConfirmRequest, cancellationToken);
        return body.Problem ?? (await mail.ConfirmPasswordResetAsync(body.Value!, request.Headers.UserAgent.ToString(), cancellationToken)).ToResult(request.HttpContext);
    }
}
