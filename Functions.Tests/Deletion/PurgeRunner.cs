using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Deletion;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Deletion;

/// <summary>
/// Does for the purge what the Functions host does for a queue trigger: takes the next message of the app's purge queue,
/// runs the function with it, and deletes the message only when the run returned; a run that threw leaves it to come back,
/// until its <see cref="MaxDequeueCount"/>th delivery failed: then it goes to the poison queue, as the host moves it.
/// </summary>
public sealed class PurgeRunner(TestApp app, string connectionString)
{
    /// <summary>host.json: extensions.queues.maxDequeueCount.</summary>
    public const int MaxDequeueCount = 20;

    private readonly QueueClient queue = app.PurgeQueue(connectionString);
    private readonly QueueClient poison = new(connectionString, app.PurgeQueue(connectionString).Name + "-poison",
        new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

    public async Task<int> PoisonedAsync()
    {
        await poison.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        return (await poison.GetPropertiesAsync(TestContext.Current.CancellationToken)).Value.ApproximateMessagesCount;
    }

    /// <summary>The message is lost (a queue outage, a deleted queue): nothing of it comes back.</summary>
    public async Task LoseAllAsync()
    {
        await queue.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        await queue.ClearMessagesAsync(TestContext.Current.CancellationToken);
    }

    public async Task<int> PendingAsync()
    {
        // The app creates its queue with the first purge it enqueues; before that, nothing is pending.
        await queue.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        return (await queue.GetPropertiesAsync(TestContext.Current.CancellationToken)).Value.ApproximateMessagesCount;
    }

    /// <summary>Runs one delivery; false when the queue is empty. Exceptions of the run are rethrown, the message kept.</summary>
    public async Task<bool> RunNextAsync(CancellationToken cancellationToken = default)
    {
        await queue.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var received = (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken)).Value;
        if (received is null)
        {
            return false;
        }

        var function = ActivatorUtilities.CreateInstance<AccountPurgeFunction>(app.Services);
        try
        {
            await function.Run(received.MessageText, cancellationToken);
        }
        catch when (received.DequeueCount >= MaxDequeueCount)
        {
            await poison.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
            await poison.SendMessageAsync(received.MessageText, TestContext.Current.CancellationToken);
            await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt, TestContext.Current.CancellationToken);
            throw;
        }
        catch
        {
            // The host makes a failed message visible again (after its visibility timeout; here at once).
            await queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, visibilityTimeout: TimeSpan.Zero,
                cancellationToken: TestContext.Current.CancellationToken);
            throw;
        }

        await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt, TestContext.Current.CancellationToken);
        return true;
    }

    /// <summary>Runs deliveries until the queue is empty; the number of runs.</summary>
    public async Task<int> DrainAsync()
    {
        var runs = 0;
        while (await RunNextAsync())
        {
            runs++;
            Assert.True(runs < 10_000, "The purge never finished.");
        }

        return runs;
    }
}

/// <summary>The process dies half-way: after <c>n</c> more entity-group batches, every storage request of the app throws.</summary>
public sealed class KillSwitch : HttpPipelinePolicy
{
    private int remaining = int.MaxValue;

    public static KillSwitch AddTo(IServiceCollection services)
    {
        var policy = new KillSwitch();
        services.AddSingleton(policy);
        services.Configure<TableClientOptions>("Default", options => options.AddPolicy(policy, HttpPipelinePosition.PerCall));
        return policy;
    }

    public void KillAfterBatches(int batches) => Volatile.Write(ref remaining, batches);

    public void Revive() => Volatile.Write(ref remaining, int.MaxValue);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (Volatile.Read(ref remaining) <= 0)
        {
            throw new OperationCanceledException("The worker process was stopped.");
        }

        if (message.Request.Uri.Path.EndsWith("/$batch", StringComparison.Ordinal))
        {
            Interlocked.Decrement(ref remaining);
        }

        return ProcessNextAsync(message, pipeline);
    }
}
