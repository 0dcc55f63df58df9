using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Http;

namespace Serverless.Bench;

/// <summary>
/// What the worker does for one HTTP invocation, minus the gRPC transport: the authentication middleware's check,
/// a DI scope, the function class created with ActivatorUtilities (as the worker's DefaultFunctionActivator does),
/// the method called, and the result written to the response.
/// </summary>
public sealed class WorkerInvocation(IServiceProvider services)
{
    private readonly BearerAuthenticator authenticator = services.GetRequiredService<BearerAuthenticator>();

    public static DefaultHttpContext Request(string method, string path, string query = "", string? bearer = null, byte[]? jsonBody = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        if (bearer is not null)
        {
            context.Request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer).ToString();
        }

        if (jsonBody is not null)
        {
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = jsonBody.Length;
            context.Request.Body = new MemoryStream(jsonBody, writable: false);
        }

        context.Response.Body = Stream.Null;
        return context;
    }

    public async Task<int> InvokeAsync<TFunctions>(HttpContext context, bool anonymous, Func<TFunctions, HttpRequest, Task<IActionResult>> function)
        where TFunctions : class
    {
        if (!anonymous && await authenticator.AuthenticateAsync(context) is { } refusal)
        {
            await refusal.WriteAsync(context);
            return context.Response.StatusCode;
        }

        await using var scope = services.CreateAsyncScope();
        context.RequestServices = scope.ServiceProvider;
        var instance = ActivatorUtilities.CreateInstance<TFunctions>(scope.ServiceProvider);
        var result = (ApiResult)await function(instance, context.Request);
        await result.WriteAsync(context);
        return context.Response.StatusCode;
    }
}
