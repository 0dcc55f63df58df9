using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Functions.Tests.Support;

/// <summary>Counts the HTTP requests the app's Tables client sends: Table Storage bills each one as a transaction.</summary>
public sealed class StorageRequestCounter : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<string> requests = new();

    public IReadOnlyList<string> Requests => [.. requests];

    public int Count => requests.Count;

    public static void AddTo(IServiceCollection services)
    {
        var counter = new StorageRequestCounter();
        services.AddSingleton(counter);
        // Microsoft.Extensions.Azure configures each client's options by client name; the app's client is the default one.
        services.Configure<TableClientOptions>("Default", options => options.AddPolicy(counter, HttpPipelinePosition.PerRetry));
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

    private void Record(HttpMessage message) => requests.Enqueue($"{message.Request.Method} {message.Request.Uri.Path}");
}
