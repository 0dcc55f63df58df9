using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Telemetry;

/// <summary>
/// Where telemetry goes: <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> (none: nothing is exported), and how it authenticates:
/// <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> = <c>ClientId=&lt;id&gt;;Authorization=AAD</c> for a user-assigned managed identity,
/// or <c>Authorization=AAD</c> alone for the default Azure credential. The same two settings the Functions host reads.
/// </summary>
public sealed record TelemetrySettings(string ConnectionString, string? ClientId, bool UsesEntraId)
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationStringSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>Null when no connection string is set: nothing to export to.</summary>
    public static TelemetrySettings? FromConfiguration(IConfiguration configuration)
    {
        var connectionString = configuration[ConnectionStringSetting];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return null;
        }

        if (!connectionString.Contains("InstrumentationKey=", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Setting '{ConnectionStringSetting}' is not an Application Insights connection string (it has no InstrumentationKey).");
        }

        var authentication = configuration[AuthenticationStringSetting];
        if (string.IsNullOrWhiteSpace(authentication))
        {
            return new TelemetrySettings(connectionString, null, UsesEntraId: false);
        }

        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw InvalidAuthentication();
            }

            parts[part[..equals].Trim()] = part[(equals + 1)..].Trim();
        }

        if (!parts.TryGetValue("Authorization", out var authorization) || !string.Equals(authorization, "AAD", StringComparison.OrdinalIgnoreCase)
            || parts.Keys.Any(key => key is not ("Authorization" or "ClientId")))
        {
            throw InvalidAuthentication();
        }

        return new TelemetrySettings(connectionString, parts.TryGetValue("ClientId", out var clientId) && clientId.Length > 0 ? clientId : null, UsesEntraId: true);
    }

    /// <summary>The Entra credential for the ingestion endpoint; null for a connection string's own key (local auth).</summary>
    public TokenCredential? CreateCredential() => !UsesEntraId ? null
        : ClientId is null ? new DefaultAzureCredential()
        : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(ClientId));

    private static InvalidOperationException InvalidAuthentication() =>
        new($"Setting '{AuthenticationStringSetting}' must be 'ClientId=<client id>;Authorization=AAD' or 'Authorization=AAD'.");
}
