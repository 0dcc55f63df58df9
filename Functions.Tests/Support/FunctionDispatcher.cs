using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Http;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// Does for a test what the Functions host and worker do for a real request: finds the function by route and method,
/// runs the app's exception boundary and bearer authentication (the same classes the worker middleware uses) around it,
/// creates the class from the app's services, binds HttpRequest, route values and the CancellationToken,
/// and writes the result into the HttpContext.
/// </summary>
public sealed class FunctionDispatcher(IServiceProvider services)
{
    public async Task DispatchAsync(HttpContext httpContext)
    {
        var path = httpContext.Request.Path.Value ?? "/";
        var candidates = FunctionRoute.All.Where(route => route.TryMatch(path, new RouteValueDictionary())).ToList();
        var function = candidates.FirstOrDefault(route => route.Methods.Contains(httpContext.Request.Method.ToUpperInvariant()));
        if (function is null)
        {
            // The host answers unknown routes itself with an empty 404 (or 405 for a known route with another method).
            httpContext.Response.StatusCode = candidates.Count > 0 ? StatusCodes.Status405MethodNotAllowed : StatusCodes.Status404NotFound;
            return;
        }

        var values = new RouteValueDictionary();
        function.TryMatch(path, values);
        await using var scope = services.CreateAsyncScope();
        httpContext.RequestServices = scope.ServiceProvider;
        var result = await InvokeAsync(function, httpContext, values, scope.ServiceProvider);
        await result.WriteAsync(httpContext);
    }

    private static async Task<ApiResult> InvokeAsync(FunctionRoute function, HttpContext httpContext, RouteValueDictionary values, IServiceProvider scoped)
    {
        try
        {
            if (!FunctionAccess.AllowsAnonymous(function.Method)
                && await scoped.GetRequiredService<BearerAuthenticator>().AuthenticateAsync(httpContext) is { } refusal)
            {
                return refusal;
            }

            var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(scoped, function.Method.DeclaringType!);
            var arguments = function.Method.GetParameters().Select(parameter => Bind(parameter.ParameterType, parameter.Name!, httpContext, values)).ToArray();
            var returned = function.Method.Invoke(instance, arguments);
            var actionResult = returned is Task<IActionResult> task ? await task : (IActionResult)returned!;
            return actionResult as ApiResult
                ?? throw new InvalidOperationException($"{function.Name} returned {actionResult.GetType().Name}; functions answer with ApiResult.");
        }
        catch (Exception exception)
        {
            var unwrapped = exception is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : exception;
            return scoped.GetRequiredService<ExceptionBoundary>().Handle(unwrapped, httpContext, function.Name);
        }
    }

    private static object? Bind(Type type, string name, HttpContext httpContext, RouteValueDictionary values) => type switch
    {
        _ when type == typeof(HttpRequest) => httpContext.Request,
        _ when type == typeof(CancellationToken) => httpContext.RequestAborted,
        _ when type == typeof(string) => values.TryGetValue(name, out var value) ? value?.ToString() : null,
        _ => throw new NotSupportedException($"The test dispatcher cannot bind a parameter of type {type.Name}."),
    };
}
