using System.Net;

namespace Serverless.Functions.Mail;

/// <summary>
/// The two mails, in plain text and HTML: the product's name, the link (to the configured page origin, never to the
/// request's host), how long it works, and "if this wasn't you, ignore this mail". No other personal data: not even the
/// display name, which anyone can choose at signup for someone else's address.
/// </summary>
public sealed class MailContent(MailOptions options)
{
    public MailMessage For(MailPurpose purpose, string to, MailToken token) => purpose switch
    {
        MailPurpose.Verify => Build(to, $"Confirm your email address for {options.ProductName}",
            $"Someone, hopefully you, signed up for {options.ProductName} with this email address. Open this link to confirm it:",
            "Confirm my email address", Link("verify", token), MailTokens.VerificationLifetime,
            "If this wasn't you, ignore this mail: nothing happens without the link."),
        MailPurpose.Reset => Build(to, $"Reset your {options.ProductName} password",
            $"Someone, hopefully you, asked to reset the password of the {options.ProductName} account of this email address. Open this link to choose a new password:",
            "Choose a new password", Link("reset", token), MailTokens.ResetLifetime,
            "If this wasn't you, ignore this mail: your password stays as it is."),
        MailPurpose.MfaOn => Notice(to, $"Two-step sign-in was turned on for your {options.ProductName} account",
            "Two-step sign-in was turned on: signing in now takes your password and a code from your authenticator app. Your other sessions were signed out."),
        MailPurpose.MfaOff => Notice(to, $"Two-step sign-in was turned off for your {options.ProductName} account",
            "Two-step sign-in was turned off: your password alone signs in now. Your other sessions were signed out."),
        MailPurpose.MfaRecoveryCodes => Notice(to, $"New recovery codes for your {options.ProductName} account",
            "New recovery codes were made for two-step sign-in; the old ones no longer work. Your other sessions were signed out."),
        _ => throw new ArgumentOutOfRangeException(nameof(purpose)),
    };

    // A security notice: what happened, and what to do if it was not the owner; no link to follow.
    private MailMessage Notice(string to, string subject, string what)
    {
        var notYou = "If this wasn't you, reset your password now from the sign-in page and check your two-step sign-in settings.";
        var plain = $"{what}\n\n{notYou}\n\n{options.ProductName}\n";
        var e = (string text) => WebUtility.HtmlEncode(text);
        var html = $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{e(subject)}</title></head>
            <body style="font-family: sans-serif; line-height: 1.5">
            <p>{e(what)}</p>
            <p>{e(notYou)}</p>
            <p>{e(options.ProductName)}</p>
            </body></html>
            """;
        return new MailMessage(to, subject, plain, html);
    }

    // The token is base64url and the fragment never reaches a server's logs.
    private string Link(string fragment, MailToken token) => $"{options.PageOrigin.GetLeftPart(UriPartial.Authority)}/#{fragment}={token}";

    private MailMessage Build(string to, string subject, string intro, string action, string link, TimeSpan lifetime, string notYou)
    {
        var expiry = $"The link works once, for {Describe(lifetime)}.";
        var plain = $"{intro}\n\n{link}\n\n{expiry}\n\n{notYou}\n\n{options.ProductName}\n";
        var e = (string text) => WebUtility.HtmlEncode(text);
        var html = $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{e(subject)}</title></head>
            <body style="font-family: sans-serif; line-height: 1.5">
            <p>{e(intro)}</p>
            <p><a href="{e(link)}">{e(action)}</a></p>
            <p>Or copy this link into your browser: {e(link)}</p>
            <p>{e(expiry)}</p>
            <p>{e(notYou)}</p>
            <p>{e(options.ProductName)}</p>
            </body></html>
            """;
        return new MailMessage(to, subject, plain, html);
    }

    private static string Describe(TimeSpan lifetime) =>
        lifetime.TotalHours >= 1 ? $"{lifetime.TotalHours:0} hours" : $"{lifetime.TotalMinutes:0} minutes";
}
