using Azure;

namespace Serverless.Functions.Storage;

/// <summary>The storage answers that stores turn into domain outcomes; everything else is left to the exception boundary.</summary>
public static class TableErrors
{
    public static bool IsConflict(RequestFailedException exception) => exception.Status == 409;

    public static bool IsPreconditionFailed(RequestFailedException exception) => exception.Status == 412;

    public static bool IsNotFound(RequestFailedException exception) => exception.Status == 404;
}
