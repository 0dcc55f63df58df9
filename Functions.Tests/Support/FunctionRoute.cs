using System.Reflection;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;

namespace Serverless.Functions.Tests.Support;

/// <summary>An HTTP function as the host sees it: name, methods, route (under the "api" prefix) and the method that runs.</summary>
public sealed record FunctionRoute(string Name, IReadOnlyList<string> Methods, string Route, AuthorizationLevel AuthLevel, MethodInfo Method)
{
    public const string RoutePrefix = "api";

    private readonly TemplateMatcher matcher = new(TemplateParser.Parse(RoutePrefix + "/" + Route), new RouteValueDictionary());

    public bool TryMatch(string path, RouteValueDictionary values) => matcher.TryMatch(path, values);

    /// <summary>Every HTTP-triggered function in the app, read from the same attributes the Worker SDK reads.</summary>
    public static IReadOnlyList<FunctionRoute> All { get; } = Discover();

    private static List<FunctionRoute> Discover() =>
    [
        .. from type in typeof(AppComposition).Assembly.GetTypes()
           from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
           let function = method.GetCustomAttribute<FunctionAttribute>()
           where function is not null
           let trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).SingleOrDefault(a => a is not null)
           where trigger is not null // timer functions have no route
           select new FunctionRoute(function.Name, [.. trigger.Methods!.Select(m => m.ToUpperInvariant())], trigger.Route!, trigger.AuthLevel, method),
    ];
}
