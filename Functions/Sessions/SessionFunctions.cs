using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;

namespace Serverless.Functions.Sessions;

/// <summary>The caller's sessions (docs/api.md, account lifecycle): list them, end one, end all.</summary>
public sealed class SessionFunctions(SessionService sessions)
{
    [Function("ListSessions")]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me/sessions")] HttpRequest request, CancellationToken cancellationToken) =>
        ApiResult.Json(StatusCodes.Status200OK, await sessions.ListAsync(request.GetCaller(), cancellationToken), ApiJson.Default.SessionList)
            .WithHeader("Cache-Control", "no-store");

    [Function("EndSession")]
    public async Task<IActionResult> End(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me/sessions/{id}")] HttpRequest request, string id, CancellationToken cancellationToken) =>
        await sessions.EndAsync(request.GetCaller(), id, cancellationToken)
            ? ApiResult.Empty(StatusCodes.Status204NoContent)
            : Problems.NotFound(request.HttpContext, "You have no session with this id.");

    [Function("EndAllSessions")]
    public async Task<IActionResult> EndAll(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me/sessions")] HttpRequest request, CancellationToken cancellationToken)
    {
        await sessions.EndAllAsync(request.GetCaller(), cancellationToken);
        return ApiResult.Empty(StatusCodes.Status204NoContent);
    }
}
