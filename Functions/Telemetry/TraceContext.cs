using System.Diagnostics;

namespace Serverless.Functions.Telemetry;

/// <summary>The W3C trace id of the work in progress: the one problem details show as <c>traceId</c> and the logs carry.</summary>
public static class TraceContext
{
    public static string? CurrentTraceId => Activity.Current is { } activity ? activity.TraceId.ToHexString() : null;
}
