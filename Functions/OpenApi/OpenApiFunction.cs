using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Http;

namespace Serverless.Functions.OpenApi;

/// <summary>Serves the OpenAPI document to anyone: it describes the API and holds nothing secret.</summary>
public sealed class OpenApiFunction(OpenApiDocument document)
{
    // The document changes only with a deployment: caches may keep it a few minutes, then revalidate with the ETag.
    public const string CacheControl = "public, max-age=300";

    [Function("OpenApi")]
    [AllowAnonymous]
    public IActionResult Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request)
    {
        var result = document.IsNamedBy(request.GetTypedHeaders().IfNoneMatch)
            ? ApiResult.Empty(StatusCodes.Status304NotModified)
            : ApiResult.Bytes(StatusCodes.Status200OK, document.Content, "application/json; charset=utf-8");
        return result.WithHeader("ETag", document.ETag.ToString()).WithHeader("Cache-Control", CacheControl);
    }
}
