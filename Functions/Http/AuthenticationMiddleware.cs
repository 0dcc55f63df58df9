using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace Serverless.Functions.Http;

/// <summary>Authenticates every HTTP function that is not [AllowAnonymous] before it runs.</summary>
public sealed class AuthenticationMiddleware(BearerAuthenticator authenticator) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is { } httpContext && !FunctionAccess.AllowsAnonymous(context.FunctionDefinition.EntryPoint)
            && await authenticator.AuthenticateAsync(httpContext) is { } refusal)
        {
            context.GetInvocationResult().Value = refusal;
            return;
        }

        await next(context);
    }
}
