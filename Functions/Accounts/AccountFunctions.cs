using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;
using Serverless.Functions.Sessions;

namespace Serverless.Functions.Accounts;

/// <summary>The Accounts routes of docs/api.md: each parses the body, calls one service method and maps the outcome.</summary>
public sealed class AccountFunctions(AccountService accounts, SessionService sessions, ClientAddresses clients)
{
    [Function("Signup")]
    [AllowAnonymous]
    public async Task<IActionResult> Signup(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/signup")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.SignupRequest, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var outcome = await accounts.SignupAsync(body.Value!, clients.Of(request), request.Headers.UserAgent.ToString(), cancellationToken);
        var result = outcome.ToResult(request.HttpContext, StatusCodes.Status201Created);
        return outcome is AccountOutcome.SignedIn ? result.WithHeader("Location", "/api/me") : result;
    }

    [Function("Login")]
    [AllowAnonymous]
    public async Task<IActionResult> Login(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/login")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.LoginRequest, cancellationToken);
        return body.Problem ?? (await accounts.LoginAsync(body.Value!, clients.Of(request), request.Headers.UserAgent.ToString(), cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("Refresh")]
    [AllowAnonymous]
    public async Task<IActionResult> Refresh(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/refresh")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.RefreshRequest, cancellationToken);
        return body.Problem ?? (await sessions.RefreshAsync(body.Value!, cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("Logout")]
    [AllowAnonymous]
    public async Task<IActionResult> Logout(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/logout")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.RefreshRequest, cancellationToken);
        return body.Problem ?? (await sessions.LogoutAsync(body.Value!, cancellationToken)).ToResult(request.HttpContext);
    }

    [Function("Me")]
    public async Task<IActionResult> Me(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me")] HttpRequest request, CancellationToken cancellationToken)
    {
        var profile = await accounts.GetProfileAsync(request.GetCaller(), cancellationToken);
        return profile is null
            ? BearerAuthenticator.Unauthorized(request.HttpContext, "The account of this access token no longer exists.", tokenSent: true)
            : ApiResult.Json(StatusCodes.Status200OK, profile, ApiJson.Default.ProfileView).WithHeader("Cache-Control", "no-store");
    }
}
