using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Functions.Tests.Performance;

/// <summary>One request the app's Tables client sent, with its path and query decoded.</summary>
public sealed partial record StorageRequest(string Method, string Path, string Query)
{
    /// <summary>A single entity addressed by both keys: <c>/Table(PartitionKey='..',RowKey='..')</c>.</summary>
    public bool IsPointOperation => PointResource().IsMatch(Resource);

    /// <summary>An insert: <c>POST /Table</c>, one entity whose keys are in the body.</summary>
    public bool IsInsert => Method == "POST" && TableName().IsMatch(Resource) && !IsTableService;

    /// <summary>A query: <c>/Table()</c> with a <c>$filter</c>.</summary>
    public bool IsQuery => Method == "GET" && Resource.EndsWith("()", StringComparison.Ordinal) && !IsTableService;

    /// <summary>The table service itself (<c>/Tables</c>): creating, listing or deleting tables.</summary>
    public bool IsTableService => Resource == "Tables" || Resource.StartsWith("Tables(", StringComparison.Ordinal);

    /// <summary>The last path segment: the table, and the entity's keys when there are any (the account comes before it on Azurite).</summary>
    public string Resource => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>
    /// A query that stays inside one partition: its filter starts with one PartitionKey equality and has no "or", or has
    /// "or" only between row keys of that partition (<c>PartitionKey eq 'p' and (RowKey eq 'a' or RowKey eq 'b')</c>).
    /// </summary>
    public bool IsSinglePartitionQuery =>
        IsQuery && Filter is { } filter
        && ((SinglePartitionFilter().IsMatch(filter) && !filter.Contains(" or ", StringComparison.OrdinalIgnoreCase)) || NamedRowsFilter().IsMatch(filter));

    /// <summary>An entity-group transaction (<c>POST /$batch</c>): Table Storage allows one partition per batch, billed as one transaction.</summary>
    public bool IsBatch => Method == "POST" && Resource == "$batch";

    public string? Filter => Query.TrimStart('?').Split('&')
        .Where(part => part.StartsWith("$filter=", StringComparison.Ordinal))
        .Select(part => part["$filter=".Length..])
        .FirstOrDefault();

    /// <summary>What Table Storage can serve from one partition without a scan.</summary>
    public bool IsPartitionScoped => IsPointOperation || IsInsert || IsSinglePartitionQuery || IsBatch;

    public override string ToString() => $"{Method} {Path}{Query}";

    [GeneratedRegex(@"^[A-Za-z0-9]+\(PartitionKey='[^']+',\s*RowKey='[^']+'\)$")]
    private static partial Regex PointResource();

    [GeneratedRegex(@"^[A-Za-z0-9]+$")]
    private static partial Regex TableName();

    [GeneratedRegex(@"^\(?PartitionKey eq '[^']+'\)?( and .+)?$")]
    private static partial Regex SinglePartitionFilter();

    [GeneratedRegex(@"^\(?PartitionKey eq '[^']+'\)? and \(\(?RowKey eq '[^']+'\)?( or \(?RowKey eq '[^']+'\)?)*\)$")]
    private static partial Regex NamedRowsFilter();
}

/// <summary>
/// Records every request the app's Tables client sends, with the query string that <c>StorageRequestCounter</c> leaves out,
/// so a test can tell point reads and single-partition queries from scans.
/// </summary>
public sealed class StorageRequestLog : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<StorageRequest> requests = new();

    public IReadOnlyList<StorageRequest> Requests => [.. requests];

    public static void AddTo(IServiceCollection services)
    {
        var log = new StorageRequestLog();
        services.AddSingleton(log);
        // The app's client is Microsoft.Extensions.Azure's default one; per retry, so a retried request counts twice, as it is billed.
        services.Configure<TableClientOptions>("Default", options => options.AddPolicy(log, HttpPipelinePosition.PerRetry));
    }

    public void Reset() => requests.Clear();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Record(message);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Record(message);
        return ProcessNextAsync(message, pipeline);
    }

    private void Record(HttpMessage message) => requests.Enqueue(new StorageRequest(
        message.Request.Method.ToString(),
        Uri.UnescapeDataString(message.Request.Uri.Path),
        Uri.UnescapeDataString(message.Request.Uri.Query)));
}
