using System.Text.Json;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Http;

namespace Serverless.Functions.Deletion;

/// <summary>What the background purge of a deleted account needs: whose items, and which Users partition was theirs.</summary>
public sealed record PurgeMessage(string UserId, string AccountKey);

/// <summary>
/// The queue of account purges on the host's storage (<c>AzureWebJobsStorage</c>), the one <see cref="AccountPurgeFunction"/>
/// is triggered by. Messages are Base64, as the Functions queue trigger expects by default. The queue is created once per
/// process, on first use; if storage was down, the next caller tries again.
/// </summary>
public sealed class PurgeJobs(QueueClient queue)
{
    public const string Name = "account-purge";
    public const string Connection = "AzureWebJobsStorage";

    private readonly Lock gate = new();
    private Task? created;

    public string QueueName => queue.Name;

    public Uri QueueUri => queue.Uri;

    /// <summary>
    /// From <c>AzureWebJobsStorage</c>: a connection string (locally), or <c>AzureWebJobsStorage__queueServiceUri</c> or
    /// <c>__accountName</c> with a managed identity (<c>__clientId</c> picks a user-assigned one), as the host reads it.
    /// </summary>
    public static PurgeJobs FromConfiguration(IConfiguration configuration, string name = Name)
    {
        var section = configuration.GetSection(Connection);
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        options.Retry.MaxRetries = 1;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(2);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            try
            {
                return new PurgeJobs(new QueueClient(section.Value, name, options));
            }
            catch (Exception exception) when (exception is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException($"Setting '{Connection}' is not a valid storage connection string.", exception);
            }
        }

        var serviceUri = section["queueServiceUri"] is { Length: > 0 } uri ? uri
            : section["accountName"] is { Length: > 0 } account ? $"https://{account}.queue.core.windows.net"
            : throw new InvalidOperationException(
                $"Setting '{Connection}' is missing: set it to a storage connection string (locally 'UseDevelopmentStorage=true'), " +
                $"or set '{Connection}__accountName' (or '{Connection}__queueServiceUri') to use a managed identity.");
        if (!Uri.TryCreate(serviceUri, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"Setting '{Connection}__queueServiceUri' must be an absolute https URI of the storage account's queue endpoint.");
        }

        var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = section["clientId"] });
        return new PurgeJobs(new QueueClient(new Uri(parsed, name), credential, options));
    }

    public async Task EnqueueAsync(PurgeMessage message, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync().WaitAsync(cancellationToken);
        await queue.SendMessageAsync(JsonSerializer.Serialize(message, ApiJson.Default.PurgeMessage), cancellationToken);
    }

    /// <summary>A message as the trigger hands it over; null for anything this app did not write.</summary>
    public static PurgeMessage? Parse(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, ApiJson.Default.PurgeMessage) is { UserId.Length: > 0, AccountKey.Length: > 0 } message ? message : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private Task EnsureCreatedAsync()
    {
        lock (gate)
        {
            if (created is null || created.IsFaulted || created.IsCanceled)
            {
                created = queue.CreateIfNotExistsAsync();
            }

            return created;
        }
    }
}
