using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;

namespace Serverless.Functions.Telemetry;

public static class TelemetryRegistration
{
    /// <summary>
    /// The app's meter always; OpenTelemetry with the Azure Monitor exporter only when Application Insights is configured,
    /// so a local run without it registers no exporter, starts no background work and sends nothing.
    /// </summary>
    public static IServiceCollection AddAppTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMetrics();
        services.AddSingleton<AppMetrics>();

        if (TelemetrySettings.FromConfiguration(configuration) is not { } settings)
        {
            return services;
        }

        // Logs, traces (the worker's invocation activities, parented to the host's) and our meter, to Application Insights.
        // Sampling is the exporter's (rate-limited by default; OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG change it).
        services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithMetrics(metrics => metrics.AddMeter(AppMetrics.MeterName))
            .UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = settings.ConnectionString;
                options.Credential = settings.CreateCredential();
            });
        return services;
    }
}
