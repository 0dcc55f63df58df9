using System.Net.Sockets;
using Azure;

namespace Serverless.Functions.Storage;

/// <summary>Tells storage outages (unreachable, throttled, timed out) from bugs, so outages answer 503 instead of 500.</summary>
public static class StorageFaults
{
    public static bool IsUnavailable(Exception exception, CancellationToken requestAborted) => exception switch
    {
        RequestFailedException failed => failed.Status is 0 or 408 or 429 or >= 500 || IsUnavailableInner(failed, requestAborted),
        AggregateException aggregate => aggregate.InnerExceptions.All(inner => IsUnavailable(inner, requestAborted)),
        OperationCanceledException => !requestAborted.IsCancellationRequested,
        HttpRequestException or SocketException or TimeoutException or IOException => true,
        _ => false,
    };

    private static bool IsUnavailableInner(Exception exception, CancellationToken requestAborted) =>
        exception.InnerException is { } inner && IsUnavailable(inner, requestAborted);
}
