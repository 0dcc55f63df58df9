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

    /// <summary>An entity-group transaction (<c>POST /$batch</c>): up to 100 operations on one partition, one billed transaction.</summary>
    public bool IsEntityGroupTransaction => Method == "POST" && Resource == "$batch";

    /// <summary>The table service itself (<c>/Tables</c>): creating, listing or deleting tables.</summary>
    public bool IsTableService => Resource == "Tables" || Resource.StartsWith("Tables(", StringComparison.Ordinal);

    /// <summary>The last path segment: the table, and the entity's keys when there are any (the account comes before it on Azurite).</summary>
    public string Resource => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>
    /// A query that stays inside one partition: its filter starts with one PartitionKey equality, names no other partition,
    /// and has an "or" only inside the one parenthesized condition that follows the "and" (the owner marker or the items).
    /// </summary>
    public bool IsSinglePartitionQuery =>
        IsQuery && Filter is { } filter && SinglePartitionFilter().Match(filter) is { Success: true } match
        && !match.Groups["rest"].Value.Contains("PartitionKey", StringComparison.Ordinal)
        && (!filter.Contains(" or ", StringComparison.OrdinalIgnoreCase) || OneParenthesizedGroup(match.Groups["rest"].Value));

    public string? Filter => Query.TrimStart('?').Split('&')
        .Where(part => part.StartsWith("$filter=", StringComparison.Ordinal))
        .Select(part => part["$filter=".Length..])
        .FirstOrDefault();

    /// <summary>What Table Storage can serve from one partition without a scan.</summary>
    public bool IsPartitionScoped => IsPointOperation || IsInsert || IsSinglePartitionQuery || IsEntityGroupTransaction;

    public override string ToString() => $"{Method} {Path}{Query}";

    [GeneratedRegex(@"^[A-Za-z0-9]+\(PartitionKey='[^']+',\s*RowKey='[^']+'\)$")]
    private static partial Regex PointResource();

    [GeneratedRegex(@"^[A-Za-z0-9]+$")]
    private static partial Regex TableName();

    [GeneratedRegex(@"^\(?PartitionKey eq '[^']+'\)?( and (?<rest>.+))?$")]
    private static partial Regex SinglePartitionFilter();

    // "(a or b)": the parenthesis that opens the condition closes only at its end.
    private static bool OneParenthesizedGroup(string condition)
    {
        if (!condition.StartsWith('(') || !condition.EndsWith(')'))
        {
            return false;
        }

        var depth = 0;
        for (var i = 0; i < condition.Length; i++)
        {
            depth += condition[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0 && i < condition.Length - 1)
            {
                return false;
            }
        }

        return true;
    }
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
