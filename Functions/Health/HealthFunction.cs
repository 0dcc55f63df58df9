using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;

namespace Serverless.Functions.Health;

public sealed class HealthFunction(HealthCheck check)
{
    private static readonly Dictionary<string, string> Healthy = new() { ["tables"] = "healthy" };
    private static readonly Dictionary<string, string> Unhealthy = new() { ["tables"] = "unhealthy" };

    [Function("Health")]
    [AllowAnonymous]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var result = await check.TablesAnswerAsync(cancellationToken)
            ? ApiResult.Json(StatusCodes.Status200OK, new HealthReport("healthy", Healthy), ApiJson.Default.HealthReport)
            : Problems.ServiceUnavailable(request.HttpContext, Unhealthy);
        return result.WithHeader("Cache-Control", "no-store");
    }
}
