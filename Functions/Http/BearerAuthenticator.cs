using Microsoft.AspNetCore.Http;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Http;

/// <summary>
/// Validates the bearer token of a request and records the <see cref="Caller"/>; a missing or rejected token
/// is answered here with 401 and <c>WWW-Authenticate</c>, before the function runs.
/// </summary>
public sealed class BearerAuthenticator(AccessTokens tokens)
{
    private const int MaxTokenLength = 4096;

    public async Task<ApiResult?> AuthenticateAsync(HttpContext httpContext)
    {
        var header = httpContext.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return Unauthorized(httpContext, "Send an access token: Authorization: Bearer <token>.", tokenSent: false);
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length > MaxTokenLength
            || await tokens.ValidateAsync(header["Bearer ".Length..].Trim()) is not { } caller)
        {
            return Unauthorized(httpContext, "The access token is missing, malformed, expired or not ours.", tokenSent: true);
        }

        httpContext.Features.Set(caller);
        return null;
    }

    public static ApiResult Unauthorized(HttpContext httpContext, string detail, bool tokenSent) =>
        Problems.Create(httpContext, StatusCodes.Status401Unauthorized, tokenSent ? "invalid-token" : "unauthorized", "Unauthorized.", detail)
            .WithHeader("WWW-Authenticate", tokenSent ? "Bearer error=\"invalid_token\"" : "Bearer");
}

public static class CallerAccess
{
    /// <summary>The caller that authentication recorded; only functions without [AllowAnonymous] have one.</summary>
    public static Caller GetCaller(this HttpRequest request) =>
        request.HttpContext.Features.Get<Caller>()
        ?? throw new InvalidOperationException("No authenticated caller: a function marked [AllowAnonymous] asked for one.");
}
