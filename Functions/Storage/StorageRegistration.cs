using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Storage;

public static class StorageRegistration
{
    /// <summary>
    /// Storage calls give up fast: a request must answer 503 within 5 seconds when storage is down or slow,
    /// so one retry with a 2-second network timeout is the most a call may spend.
    /// </summary>
    public static void ApplyTimeouts(TableClientOptions options)
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(500);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(2);
    }

    public static IServiceCollection AddTableStorage(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = TableStorageSettings.FromConfiguration(configuration);
        services.AddAzureClients(clients => clients
            .AddClient<TableServiceClient, TableClientOptions>(options =>
            {
                ApplyTimeouts(options);
                return settings.CreateClient(options);
            }));
        services.AddSingleton(provider => new AppTables(
            provider.GetRequiredService<TableServiceClient>(), provider.GetRequiredService<ILogger<AppTables>>()));
        services.AddHostedService<TablesWarmUp>();
        return services;
    }
}
