using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Health;
using Serverless.Functions.Http;
using Serverless.Functions.Storage;

namespace Serverless.Functions;

/// <summary>The app's services, shared by Program.cs and the tests so both run the same composition.</summary>
public static class AppComposition
{
    public static IServiceCollection AddServerlessApp(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTableStorage(configuration);
        services.AddSingleton<ExceptionBoundary>();
        services.AddSingleton<HealthCheck>();
        return services;
    }
}
