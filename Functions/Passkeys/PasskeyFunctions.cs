using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;

namespace Serverless.Functions.Passkeys;

/// <summary>The Passkeys routes of docs/api.md: each parses the body, calls one service method and maps the outcome.</summary>
public sealed class PasskeyFunctions(PasskeyService passkeys, ClientAddresses clients)
{
    [Function("PasskeyRegistrationOptions")]
    public async Task<IActionResult> RegistrationOptions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/passkeys/options")] HttpRequest request, CancellationToken cancellationToken) =>
        (await passkeys.RegistrationOptionsAsync(request.GetCaller(), cancellationToken)).ToResult(request.HttpContext);

    [Function("RegisterPasskey")]
    public async Task<IActionResult> Register(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/passkeys")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasskeyRegistrationRequest, cancellationToken);
        return body.Problem ?? (await passkeys.RegisterAsync(request.GetCaller(), body.Value!, cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("ListPasskeys")]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me/passkeys")] HttpRequest request, CancellationToken cancellationToken) =>
        await passkeys.ListAsync(request.GetCaller(), cancellationToken) is { } list
            ? ApiResult.Json(StatusCodes.Status200OK, list, ApiJson.Default.PasskeyList).WithHeader("Cache-Control", "no-store")
            : BearerAuthenticator.Unauthorized(request.HttpContext, "The account of this access token no longer exists.", tokenSent: true);

    [Function("RenamePasskey")]
    public async Task<IActionResult> Rename(
        [HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "me/passkeys/{id}")] HttpRequest request, string id, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasskeyRenameRequest, cancellationToken);
        return body.Problem ?? (await passkeys.RenameAsync(request.GetCaller(), id, body.Value!, cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("DeletePasskey")]
    public async Task<IActionResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me/passkeys/{id}")] HttpRequest request, string id, CancellationToken cancellationToken) =>
        (await passkeys.DeleteAsync(request.GetCaller(), id, cancellationToken)).ToResult(request.HttpContext);

    [Function("PasskeySignInOptions")]
    [AllowAnonymous]
    public async Task<IActionResult> SignInOptions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/passkey/options")] HttpRequest request, CancellationToken cancellationToken) =>
        (await passkeys.SignInOptionsAsync(clients.Of(request), cancellationToken)).ToResult(request.HttpContext);

    [Function("PasskeySignIn")]
    [AllowAnonymous]
    public async Task<IActionResult> SignIn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/passkey")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasskeyCredentialRequest, cancellationToken);
        return body.Problem ?? (await passkeys.SignInAsync(body.Value!, clients.Of(request), request.Headers.UserAgent.ToString(), cancellationToken))
            .ToResult(request.HttpContext);
    }

    [Function("PasskeySignupOptions")]
    [AllowAnonymous]
    public async Task<IActionResult> SignupOptions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/signup/passkey/options")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasskeySignupOptionsRequest, cancellationToken);
        return body.Problem ?? (await passkeys.SignupOptionsAsync(body.Value!, clients.Of(request), cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("PasskeySignup")]
    [AllowAnonymous]
    public async Task<IActionResult> Signup(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/signup/passkey")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasskeyCredentialRequest, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var outcome = await passkeys.SignupAsync(body.Value!, clients.Of(request), request.Headers.UserAgent.ToString(), cancellationToken);
        var result = outcome.ToResult(request.HttpContext, StatusCodes.Status201Created);
        return outcome is PasskeyOutcome.SignedIn ? result.WithHeader("Location", "/api/me") : result;
    }
}
