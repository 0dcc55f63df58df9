using System.Net;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Passkeys;

/// <summary>
/// The <c>Passkeys</c> settings, read and checked once at start-up: the relying-party id (the host name passkeys are bound
/// to: <c>localhost</c> locally, the Static Web App's host in Azure), its display name, and the page origins whose
/// ceremonies are accepted. WebAuthn refuses IP addresses as relying-party ids, so the page must be opened by host name.
/// </summary>
public sealed record PasskeyOptions
{
    public const string Section = "Passkeys";

    /// <summary>How long a ceremony's challenge may be answered (docs/api.md: 5 minutes).</summary>
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromMinutes(5);

    public required string RelyingPartyId { get; init; }

    public string RelyingPartyName { get; init; } = "Serverless";

    public required IReadOnlySet<string> Origins { get; init; }

    public static PasskeyOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var rpId = section["RelyingPartyId"]?.Trim();
        if (string.IsNullOrEmpty(rpId))
        {
            throw new InvalidOperationException(
                "Setting 'Passkeys__RelyingPartyId' is missing: set it to the page's host name (localhost locally, the Static Web App's default host name in Azure).");
        }

        if (!IsHostName(rpId))
        {
            throw new InvalidOperationException(
                $"Setting 'Passkeys__RelyingPartyId' must be a lower-case host name without scheme, port or path, and not an IP address (WebAuthn refuses those); got '{rpId}'.");
        }

        var name = section["RelyingPartyName"]?.Trim();
        if (name is not null && (name.Length is 0 or > 64 || name.Any(char.IsControl)))
        {
            throw new InvalidOperationException("Setting 'Passkeys__RelyingPartyName' must be 1 to 64 characters without control characters.");
        }

        var origins = (section["Origins"] ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (origins.Length == 0)
        {
            throw new InvalidOperationException(
                $"Setting 'Passkeys__Origins' is missing: set it to the page's origin(s), comma-separated (e.g. https://{rpId}).");
        }

        foreach (var origin in origins)
        {
            if (OriginProblem(origin, rpId) is { } problem)
            {
                throw new InvalidOperationException($"Setting 'Passkeys__Origins': '{origin}' {problem}");
            }
        }

        return new PasskeyOptions
        {
            RelyingPartyId = rpId,
            RelyingPartyName = name ?? "Serverless",
            Origins = origins.ToHashSet(StringComparer.Ordinal),
        };
    }

    private static bool IsHostName(string value) =>
        Uri.CheckHostName(value) == UriHostNameType.Dns
        && !IPAddress.TryParse(value, out _)
        && !value.Any(char.IsUpper)
        && !value.EndsWith('.');

    // An origin is scheme://host[:port] with nothing after it; its host is the relying-party id or a subdomain of it
    // (the browser refuses anything else), and it is https except on localhost.
    private static string? OriginProblem(string origin, string rpId)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.GetLeftPart(UriPartial.Authority) != origin || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return "is not an origin (scheme://host[:port], nothing after it).";
        }

        if (uri.Host != rpId && !uri.Host.EndsWith("." + rpId, StringComparison.Ordinal))
        {
            return $"is not on the relying-party id '{rpId}' or one of its subdomains.";
        }

        return uri.Scheme == Uri.UriSchemeHttp && uri.Host != "localhost" ? "must be https (only localhost may use http)." : null;
    }
}
