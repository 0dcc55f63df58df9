using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Accounts;
using Serverless.Functions.Http;

namespace Serverless.Functions.Passwords;

/// <summary><c>PUT /api/me/password</c>: parses the body, calls the password change, maps the outcome.</summary>
public sealed class PasswordFunctions(PasswordChangeService passwords)
{
    [Function("ChangePassword")]
    public async Task<IActionResult> Change(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "me/password")] HttpRequest request, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, ApiJson.Default.PasswordChangeRequest, cancellationToken);
        return body.Problem ?? (await passwords.ChangeAsync(request.GetCaller(), body.Value!, request.Headers.UserAgent.ToString(), cancellationToken))
            .ToResult(request.HttpContext);
    }
}
