using System.Net.Mail;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Accounts;

/// <summary>
/// An email as the API accepts it: trimmed, Unicode NFC, at most 254 characters, one plain address. Its table key is
/// <see cref="AccountKeys.KeyOf"/>, a keyed hash.
/// </summary>
public sealed record EmailAddress(string Value)
{
    public const int MaxLength = 254;

    public string LocalPart => Value[..Value.LastIndexOf('@')];

    public static EmailAddress? TryParse(string? input, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "Enter an email address.";
            return null;
        }

        if (input.Length > MaxLength * 2 || !Text.TryNormalize(input, out var value) || value.Length > MaxLength)
        {
            error = $"Enter a valid email address of at most {MaxLength} characters.";
            return null;
        }

        if (!IsPlainAddress(value))
        {
            error = "Enter a valid email address.";
            return null;
        }

        return new EmailAddress(value);
    }

    private static bool IsPlainAddress(string value)
    {
        if (value.Any(char.IsWhiteSpace) || Text.HasControlCharacters(value))
        {
            return false;
        }

        var at = value.LastIndexOf('@');
        if (at < 1 || at == value.Length - 1 || !value[(at + 1)..].Contains('.', StringComparison.Ordinal))
        {
            return false;
        }

        return MailAddress.TryCreate(value, out var parsed) && parsed.Address == value && string.IsNullOrEmpty(parsed.DisplayName);
    }
}

internal static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static byte[]? TryDecode(string text)
    {
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
