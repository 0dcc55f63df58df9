using System.Globalization;
using System.Net.Mail;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Mail;

/// <summary>
/// The <c>Mail</c> settings, read and checked once at start-up: where links point (<c>Mail__PageOrigin</c>, never the
/// request's Host header), who sends, and through what: SMTP (<c>Mail__Smtp__Host</c>/<c>Port</c>, locally smtp4dev) or
/// Azure Communication Services (<c>Mail__Acs__Endpoint</c>, keyless).
/// </summary>
public sealed record MailOptions
{
    public const string Section = "Mail";

    public required Uri PageOrigin { get; init; }
    public required string SenderAddress { get; init; }
    public string ProductName { get; init; } = "My Items";
    public SmtpSettings? Smtp { get; init; }
    public AcsSettings? Acs { get; init; }

    /// <summary>Reset mails a client address may ask for per hour (per instance), whatever the emails.</summary>
    public int ResetRequestsPerClientPerHour { get; init; } = 20;

    public static MailOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var smtpHost = section["Smtp:Host"];
        var acsEndpoint = section["Acs:Endpoint"];
        if (string.IsNullOrWhiteSpace(smtpHost) == string.IsNullOrWhiteSpace(acsEndpoint))
        {
            throw new InvalidOperationException(
                "Set exactly one of 'Mail__Smtp__Host' (SMTP, e.g. the local smtp4dev) and 'Mail__Acs__Endpoint' (Azure Communication Services).");
        }

        return new MailOptions
        {
            PageOrigin = Origin(section["PageOrigin"]),
            SenderAddress = Sender(section["SenderAddress"]),
            ProductName = string.IsNullOrWhiteSpace(section["ProductName"]) ? "My Items" : section["ProductName"]!.Trim(),
            Smtp = string.IsNullOrWhiteSpace(smtpHost) ? null : new SmtpSettings(smtpHost.Trim(), Integer(section, "Smtp:Port", 25, 1, 65535)),
            Acs = string.IsNullOrWhiteSpace(acsEndpoint) ? null : new AcsSettings(AcsEndpoint(acsEndpoint), Blank(section["Acs:ClientId"])),
            ResetRequestsPerClientPerHour = Integer(section, "ResetRequestsPerClientPerHour", 20, 1, 100_000),
        };
    }

    private static Uri Origin(string? text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.PathAndQuery != "/" || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new InvalidOperationException(
                "Setting 'Mail__PageOrigin' must be the page's origin, e.g. https://app.example.com (scheme, host and port only): links in mails point there.");
        }

        return new Uri(uri.GetLeftPart(UriPartial.Authority));
    }

    private static string Sender(string? text) =>
        MailAddress.TryCreate(text?.Trim(), out var address) && string.IsNullOrEmpty(address.DisplayName)
            ? address.Address
            : throw new InvalidOperationException("Setting 'Mail__SenderAddress' must be the address mails come from, e.g. DoNotReply@example.com.");

    private static Uri AcsEndpoint(string text) =>
        Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            ? uri
            : throw new InvalidOperationException("Setting 'Mail__Acs__Endpoint' must be the https endpoint of the Communication Services resource.");

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static int Integer(IConfigurationSection section, string name, int fallback, int min, int max)
    {
        var text = section[name];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new InvalidOperationException($"Setting 'Mail__{name.Replace(":", "__", StringComparison.Ordinal)}' must be a whole number from {min} to {max}.");
        }

        return value;
    }
}

public sealed record SmtpSettings(string Host, int Port);

/// <summary>The Communication Services endpoint; <c>Mail__Acs__ClientId</c> picks a user-assigned managed identity.</summary>
public sealed record AcsSettings(Uri Endpoint, string? ClientId);
