using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.AspNetCore.Authorization;

namespace Serverless.Functions.Http;

/// <summary>
/// Every HTTP function needs a signed-in caller unless its method says [AllowAnonymous]:
/// a new function is protected by default, so nobody can forget to check.
/// </summary>
public static class FunctionAccess
{
    private static readonly ConcurrentDictionary<string, bool> AnonymousByEntryPoint = new();

    public static bool AllowsAnonymous(MethodInfo method) => method.GetCustomAttribute<AllowAnonymousAttribute>() is not null;

    /// <summary>For the host's entry point, "Namespace.Class.Method".</summary>
    public static bool AllowsAnonymous(string entryPoint) => AnonymousByEntryPoint.GetOrAdd(entryPoint, static name =>
    {
        var split = name.LastIndexOf('.');
        var type = typeof(FunctionAccess).Assembly.GetType(name[..split], throwOnError: true)!;
        return type.GetMethods().Where(method => method.Name == name[(split + 1)..]).Any(AllowsAnonymous);
    });
}
