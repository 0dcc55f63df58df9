using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Functions;
using Serverless.Functions.Http;

namespace Serverless.ColdStart;

/// <summary>
/// The worker's composition, line for line as Functions/Program.cs does it, short of <c>Run()</c>: no gRPC connection to the
/// Functions host, no hosted service started. What it costs is what every cold start pays before the worker can take a request.
/// </summary>
public static class WorkerComposition
{
    /// <summary>The settings a local run has (local.settings.json.example): a connection string, so no credential is built.</summary>
    public static Dictionary<string, string?> LocalSettings(string tablesConnection = "UseDevelopmentStorage=true") => new()
    {
        ["Tables"] = tablesConnection,
        ["AzureWebJobsStorage"] = tablesConnection,
        ["Auth:SigningKey"] = "bench-only-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ["Auth:IdentifierHashKey"] = "bench-only-identifier-hash-key-0123456789-abcdefghijklmnop",
        ["Auth:Issuer"] = "serverless-bench",
        ["Auth:Audience"] = "serverless-bench",
        ["Passkeys:RelyingPartyId"] = "localhost",
        ["Passkeys:Origins"] = "http://localhost:5173",

        // What the Functions host passes the worker on its command line; the gRPC channel is made, never dialled.
        ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:9",
        ["Functions:Worker:WorkerId"] = "00000000-0000-0000-0000-000000000001",
        ["Functions:Worker:RequestId"] = "00000000-0000-0000-0000-000000000002",
        ["Functions:Worker:GrpcMaxMessageLength"] = "2147483647",
    };

    public static IHost Build(IReadOnlyDictionary<string, string?> settings, out IReadOnlyList<ServiceDescriptor> registrations)
    {
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(settings);

        // From here on as in Program.cs.
        builder.ConfigureFunctionsWebApplication();
        builder.UseWhen<ExceptionBoundaryMiddleware>(context => context.GetHttpContext() is not null);
        builder.UseWhen<AuthenticationMiddleware>(context => context.GetHttpContext() is not null);
        builder.Services.AddServerlessApp(builder.Configuration);

        registrations = [.. builder.Services];
        return builder.Build();
    }

    /// <summary>
    /// Resolves every closed service registered (the worker's and the app's) and creates every function class the way the
    /// worker does for an invocation; returns how many objects that made.
    /// </summary>
    public static int ResolveAll(IHost host, IReadOnlyList<ServiceDescriptor> registrations)
    {
        using var scope = host.Services.CreateScope();
        var resolved = 0;
        foreach (var serviceType in registrations.Select(descriptor => descriptor.ServiceType).Where(type => !type.ContainsGenericParameters).Distinct())
        {
            resolved += scope.ServiceProvider.GetServices(serviceType).Count();
        }

        foreach (var functionClass in FunctionClasses)
        {
            _ = ActivatorUtilities.CreateInstance(scope.ServiceProvider, functionClass);
            resolved++;
        }

        return resolved;
    }

    public static IReadOnlyList<Type> FunctionClasses { get; } =
    [
        .. typeof(AppComposition).Assembly.GetTypes()
            .Where(type => type.GetMethods().Any(method => method.GetCustomAttribute<FunctionAttribute>() is not null)),
    ];
}
