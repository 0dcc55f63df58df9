using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Storage that misbehaves on cue, at the far end of the app's Tables client: just before the transport, inside the
/// SDK's network timeout and retry, exactly where a slow network or a stopped emulator would hit. Nothing is mocked:
/// every request that is let through reaches the real Azurite.
/// </summary>
public sealed class StorageFaultPolicy : HttpPipelinePolicy
{
    private StorageFault? fault;

    public static StorageFaultPolicy AddTo(IServiceCollection services)
    {
        var policy = new StorageFaultPolicy();
        services.AddSingleton(policy);
        services.Configure<TableClientOptions>("Default", options => options.AddPolicy(policy, HttpPipelinePosition.BeforeTransport));
        return policy;
    }

    public void Inject(StorageFault next) => Volatile.Write(ref fault, next);

    public void Clear() => Volatile.Write(ref fault, null);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var current = Volatile.Read(ref fault);
        var applies = current is not null && current.TryClaim(message.Request.Method.Method, message.Request.Uri.Path);
        if (applies)
        {
            await current!.BeforeSendAsync(message.CancellationToken);
        }

        await ProcessNextAsync(message, pipeline);
        if (applies)
        {
            await current!.AfterResponseAsync(message.CancellationToken);
        }
    }
}

/// <summary>One misbehaviour: which requests it hits (method and table), how many times, and what it does to them.</summary>
public sealed class StorageFault
{
    private readonly string? method;
    private readonly string? table;
    private int remaining;

    private StorageFault(string? method, string? table, int times)
    {
        this.method = method;
        this.table = table;
        remaining = times;
    }

    public Func<CancellationToken, Task> BeforeSendAsync { get; private init; } = _ => Task.CompletedTask;

    public Func<CancellationToken, Task> AfterResponseAsync { get; private init; } = _ => Task.CompletedTask;

    /// <summary>The "table" of an entity-group transaction (POST /$batch), whatever table it writes.</summary>
    public const string Batch = "$batch";

    /// <summary>The requests hit so far.</summary>
    public int Hits { get; private set; }

    /// <summary>Requests held before they are sent, as by a storage account that stopped answering: nothing lands.</summary>
    public static StorageFault Unanswered(string? method = null, string? table = null, int times = int.MaxValue) =>
        new(method, table, times) { BeforeSendAsync = HoldAsync };

    /// <summary>The request lands, its answer is held until the SDK gives up and retries: a lost response.</summary>
    public static StorageFault LostResponse(string method, string table, int times = 1) =>
        new(method, table, times) { AfterResponseAsync = HoldAsync };

    /// <summary>Runs <paramref name="action"/> (stopping the emulator, say) just before the request is sent.</summary>
    public static StorageFault BeforeSend(string method, string table, Func<Task> action, int times = 1) =>
        new(method, table, times) { BeforeSendAsync = _ => action() };

    internal bool TryClaim(string requestMethod, string path)
    {
        if ((method is not null && !string.Equals(method, requestMethod, StringComparison.OrdinalIgnoreCase))
            || (table is not null && !TargetsTable(path, table)))
        {
            return false;
        }

        lock (this)
        {
            if (remaining <= 0)
            {
                return false;
            }

            remaining--;
            Hits++;
            return true;
        }
    }

    // "/devstoreaccount1/tabc123Items(PartitionKey='…',RowKey='…')" or "/devstoreaccount1/tabc123Items": the last segment
    // names the table, after the test app's prefix. An entity-group transaction names its table only in its body: it is
    // targeted as <see cref="Batch"/>.
    private static bool TargetsTable(string path, string table)
    {
        var segment = path[(path.LastIndexOf('/') + 1)..];
        if (table == Batch || segment == Batch)
        {
            return segment == table;
        }

        var end = segment.IndexOf('(', StringComparison.Ordinal);
        var name = end < 0 ? segment : segment[..end];
        return name.EndsWith(table, StringComparison.Ordinal) && name.Length > table.Length;
    }

    private static Task HoldAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
}
