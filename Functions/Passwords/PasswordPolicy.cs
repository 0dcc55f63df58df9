using System.Collections.Frozen;
using System.Globalization;
using Serverless.Functions.Accounts;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Passwords;

/// <summary>
/// NIST SP 800-63B-4 for passwords: length (15–128 by default), any characters, no composition rules, and not obviously
/// weak at any length: not a known common or breached password (nor one with only digits or symbols around it), not a
/// short unit repeated, not a keyboard, alphabet or digit sequence, not containing the email's own name or the service's.
/// Each refusal names its rule.
/// </summary>
public sealed class PasswordPolicy(AuthOptions options)
{
    /// <summary>The service's own name (README, the page's title), which belongs in no password of it.</summary>
    public static readonly IReadOnlyList<string> ServiceNames = ["serverless", "my items"];

    // The shortest local part we look for in a password: shorter ones ("al", "jo") would refuse half of all passwords.
    private const int MinLocalPartToCheck = 3;

    // Keyboard rows (US layout, each row continuing into the next), keyboard columns, the alphabet and the digits: a
    // password that walks along these with at most one jump elsewhere is a sequence, however long.
    private static readonly string[] Sequences =
    [
        "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-['=]",
        "abcdefghijklmnopqrstuvwxyza",
        "01234567890",
    ];

    private static readonly FrozenSet<(char, char)> SequenceSteps = Sequences
        .SelectMany(sequence => sequence.Zip(sequence.Skip(1)).SelectMany(pair => new[] { (pair.First, pair.Second), (pair.Second, pair.First) }))
        .ToFrozenSet();

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
            return "This password is on a list of common or breached passwords; choose another.";
        }

        if (CommonPasswords.Value.Contains(lowered.Trim(NotALetter)))
        {
            return "This is a common password with only digits or symbols added; choose another.";
        }

        if (IsRepetition(lowered))
        {
            return "The password repeats a short group of characters; choose another.";
        }

        if (IsSequence(lowered))
        {
            return "The password is a keyboard, alphabet or digit sequence; choose another.";
        }

        if (email is { LocalPart: var localPart } && localPart.Length >= MinLocalPartToCheck
            && lowered.Contains(localPart.ToLower(CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            return "The password must not contain your email address's name.";
        }

        if (ServiceNames.Any(name => lowered.Replace(" ", "", StringComparison.Ordinal).Contains(name.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal)))
        {
            return "The password must not contain this service's name.";
        }

        return null;
    }

    public static int CommonPasswordCount => CommonPasswords.Value.Count;

    private static readonly char[] NotALetter = [.. Enumerable.Range(32, 95).Select(c => (char)c).Where(c => !char.IsAsciiLetter(c))];

    /// <summary>A unit of at most half the length, repeated (the last copy may be cut short), or at most 3 distinct characters.</summary>
    private static bool IsRepetition(string password)
    {
        if (password.EnumerateRunes().Distinct().Count() <= 3)
        {
            return true;
        }

        for (var unit = 1; unit <= password.Length / 2; unit++)
        {
            var repeats = true;
            for (var i = unit; i < password.Length && repeats; i++)
            {
                repeats = password[i] == password[i - unit];
            }

            if (repeats)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Each character next to the previous one on a keyboard row or column, in the alphabet or the digits, with at most one jump.</summary>
    private static bool IsSequence(string password)
    {
        var jumps = 0;
        for (var i = 1; i < password.Length && jumps <= 1; i++)
        {
            if (!SequenceSteps.Contains((password[i - 1], password[i])))
            {
                jumps++;
            }
        }

        return jumps <= 1;
    }

    private static FrozenSet<string> LoadCommonPasswords()
    {
        using var stream = typeof(PasswordPolicy).Assembly.GetManifestResourceStream("common-passwords.txt")
            ?? throw new InvalidOperationException("The common-passwords.txt resource is missing from the build.");
        using var reader = new StreamReader(stream);
        var passwords = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            // Shorter entries could never match: no minimum length is below 8 (AuthOptions.LowestMinPasswordLength).
            if (line.Trim() is { Length: >= AuthOptions.LowestMinPasswordLength } entry)
            {
                passwords.Add(entry.ToLower(CultureInfo.InvariantCulture));
            }
        }

        return passwords.ToFrozenSet(StringComparer.Ordinal);
    }
}
