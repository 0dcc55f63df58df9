using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace Serverless.Functions.Http;

/// <summary>Runs every HTTP function inside the <see cref="ExceptionBoundary"/>.</summary>
public sealed class ExceptionBoundaryMiddleware(ExceptionBoundary boundary) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (context.GetHttpContext() is { Response.HasStarted: false } httpContext)
        {
            context.GetInvocationResult().Value = boundary.Handle(exception, httpContext, context.FunctionDefinition.Name);
        }
    }
}
