using System.Collections.Frozen;
using System.Globalization;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Accounts;

/// <summary>
/// NIST SP 800-63B-4 for passwords: length only (15–128 by default), any characters, no composition rules,
/// not a known common password, not the email's own name.
/// </summary>
public sealed class PasswordPolicy(AuthOptions options)
{
    // The shortest local part we look for in a password: shorter ones ("al", "jo") would refuse half of all passwords.
    private const int MinLocalPartToCheck = 3;

    private static readonly Lazy<FrozenSet<string>> CommonPasswords = new(LoadCommonPasswords);

    public string? Check(string? password, EmailAddress? email)
    {
        if (string.IsNullOrEmpty(password))
        {
            return "Enter a password.";
        }

        if (password.Length > AuthOptions.MaxPasswordLength * 2)
        {
            return $"Use at most {AuthOptions.MaxPasswordLength} characters.";
        }

        // Hashing normalizes the password to NFC, which must not fail.
        if (!Text.TryNormalize(password, out _, trim: false))
        {
            return "The password holds characters that are not valid text.";
        }

        var length = Text.CodePoints(password);
        if (length < options.MinPasswordLength)
        {
            return $"Use at least {options.MinPasswordLength} characters.";
        }

        if (length > AuthOptions.MaxPasswordLength)
        {
            return $"Use at most {AuthOptions.MaxPasswordLength} characters.";
        }

        var lowered = password.Trim().ToLower(CultureInfo.InvariantCulture);
        if (CommonPasswords.Value.Contains(lowered))
        {
            return "This password is too common; choose another.";
        }

        if (email is { LocalPart: var localPart } && localPart.Length >= MinLocalPartToCheck
            && lowered.Contains(localPart.ToLower(CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            return "The password must not contain your email address's name.";
        }

        return null;
    }

    public static int CommonPasswordCount => CommonPasswords.Value.Count;

    private static FrozenSet<string> LoadCommonPasswords()
    {
        using var stream = typeof(PasswordPolicy).Assembly.GetManifestResourceStream("common-passwords.txt")
            ?? throw new InvalidOperationException("The common-passwords.txt resource is missing from the build.");
        using var reader = new StreamReader(stream);
        var passwords = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Trim() is { Length: > 0 } entry)
            {
                passwords.Add(entry.ToLower(CultureInfo.InvariantCulture));
            }
        }

        return passwords.ToFrozenSet(StringComparer.Ordinal);
    }
}
