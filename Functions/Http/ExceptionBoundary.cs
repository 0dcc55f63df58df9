using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Http;

/// <summary>
/// The one place an unexpected exception becomes an answer: storage outages are 503 with Retry-After,
/// anything else a generic 500. Neither carries exception details; the log does.
/// </summary>
public sealed partial class ExceptionBoundary(ILogger<ExceptionBoundary> logger)
{
    public ApiResult Handle(Exception exception, HttpContext httpContext, string functionName)
    {
        if (StorageFaults.IsUnavailable(exception, httpContext.RequestAborted))
        {
            LogStorageUnavailable(logger, exception, functionName);
            return Problems.ServiceUnavailable(httpContext);
        }

        LogUnhandled(logger, exception, functionName);
        return Problems.Create(httpContext, StatusCodes.Status500InternalServerError, "internal", "An unexpected error occurred.",
            "The error has been logged. Quote the traceId when you report it.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage unavailable in {FunctionName}")]
    private static partial void LogStorageUnavailable(ILogger logger, Exception exception, string functionName);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception in {FunctionName}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string functionName);
}
