using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Storage;

/// <summary>Creates the tables in the background at start-up, so the first request rarely waits and start-up never does.</summary>
public sealed partial class TablesWarmUp(AppTables tables, ILogger<TablesWarmUp> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await tables.EnsureCreatedAsync().WaitAsync(stoppingToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogWarmUpFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tables could not be created at start-up; the first request will try again")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);
}
