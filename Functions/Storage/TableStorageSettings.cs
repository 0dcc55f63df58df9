using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Storage;

/// <summary>
/// Where the app's tables live: a connection string in <c>Tables</c> (Azurite locally), or
/// <c>Tables__tableServiceUri</c> with a managed identity in Azure (<c>Tables__clientId</c> picks a user-assigned one).
/// </summary>
public sealed record TableStorageSettings(string? ConnectionString, Uri? ServiceUri, string? ClientId)
{
    public const string Section = "Tables";

    public static TableStorageSettings FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var serviceUri = section["tableServiceUri"];
        if (!string.IsNullOrWhiteSpace(serviceUri))
        {
            if (!Uri.TryCreate(serviceUri, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                throw new InvalidOperationException("Setting 'Tables__tableServiceUri' must be an absolute https URI of the storage account's table endpoint.");
            }

            return new TableStorageSettings(null, uri, NullIfBlank(section["clientId"]));
        }

        var connectionString = section.Value;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                "Setting 'Tables' is missing: set it to a storage connection string (locally 'UseDevelopmentStorage=true'), or set 'Tables__tableServiceUri' to use a managed identity.");
        }

        try
        {
            _ = new TableServiceClient(connectionString);
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException("Setting 'Tables' is not a valid storage connection string.", exception);
        }

        return new TableStorageSettings(connectionString, null, null);
    }

    public TableServiceClient CreateClient(TableClientOptions options) => ServiceUri is null
        ? new TableServiceClient(ConnectionString, options)
        : new TableServiceClient(ServiceUri, CreateCredential(), options);

    private DefaultAzureCredential CreateCredential() =>
        new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = ClientId });

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
