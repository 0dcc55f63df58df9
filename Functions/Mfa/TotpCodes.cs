using System.Security.Cryptography;
using System.Text;
using OtpNet;
using QRCoder;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Mfa;

/// <summary>
/// RFC 6238 with Otp.NET: SHA-1, 6 digits, 30-second steps, the step before and after accepted (a clock a little off, a
/// code typed as it turned). A code is matched to its step, and a step at or before the last one accepted is refused, so a
/// code once used (or an older one) never works again. Secrets are 160 bits (RFC 4226's recommendation).
/// </summary>
public sealed class TotpCodes(MfaOptions options, TimeProvider clock)
{
    public const int Digits = 6;
    public const int StepSeconds = 30;
    private const int SecretBytes = 20;
    private static readonly VerificationWindow Window = new(previous: 1, future: 1);

    private long comparisons;

    /// <summary>How many codes this instance has compared with a secret (telemetry, and the tests' bound on guesses).</summary>
    public long Comparisons => Interlocked.Read(ref comparisons);

    public static byte[] NewSecret() => KeyGeneration.GenerateRandomKey(SecretBytes);

    public static string Base32(byte[] secret) => Base32Encoding.ToString(secret);

    /// <summary>The <c>otpauth://</c> URI an authenticator app reads from the QR code, labelled with the product and the email.</summary>
    public string UriFor(byte[] secret, string email) =>
        new OtpUri(OtpType.Totp, Base32(secret), email, options.Issuer, OtpHashMode.Sha1, Digits, StepSeconds).ToString();

    public static string QrSvg(string uri)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        return new SvgQRCode(data).GetGraphic(4);
    }

    /// <summary>True when the text has the shape of a code (6 digits, spaces ignored); nothing else is ever compared.</summary>
    public static string? Normalize(string? code)
    {
        var digits = code?.Replace(" ", "", StringComparison.Ordinal);
        return digits is { Length: Digits } && digits.All(char.IsAsciiDigit) ? digits : null;
    }

    /// <summary>The step the code belongs to, when it is current (±1 step) and later than <paramref name="lastStep"/>; else null.</summary>
    public long? Match(byte[] secret, string code, long lastStep)
    {
        Interlocked.Increment(ref comparisons);
        var totp = new Totp(secret, StepSeconds, OtpHashMode.Sha1, Digits);
        return totp.VerifyTotp(clock.GetUtcNow().UtcDateTime, code, out var step, Window) && step > lastStep ? step : null;
    }
}

/// <summary>
/// Recovery codes: 10 of them, 80 random bits each, shown once as <c>xxxx-xxxx-xxxx-xxxx</c> (base32, lower case) and
/// stored only as SHA-256 hashes; each works once. Typed with or without dashes and spaces, in either case.
/// </summary>
public static class RecoveryCodes
{
    public const int Count = 10;
    private const int CodeBytes = 10;

    public static IReadOnlyList<string> New() =>
        [.. Enumerable.Range(0, Count).Select(_ =>
        {
            var text = Base32Encoding.ToString(RandomNumberGenerator.GetBytes(CodeBytes)).ToLowerInvariant();
            return string.Join('-', text.Chunk(4).Select(chunk => new string(chunk)));
        })];

    public static string? HashOf(string? code)
    {
        var normalized = code?.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
        return normalized is { Length: 16 } && normalized.All(c => c is >= 'a' and <= 'z' or >= '2' and <= '7')
            ? Base64Url.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(normalized)))
            : null;
    }
}

/// <summary>
/// The token a password sign-in answers when the account has two-step sign-in on: <c>accountKey.secret</c>, both 43
/// base64url characters, as a mail token is. The account key names the partition and the secret's SHA-256 names the row
/// (<c>mfatoken-…</c>), so it is found with the account's own query and only its hash is stored.
/// </summary>
public sealed record MfaToken(string AccountKey, string Secret)
{
    public const string RowKeyPrefix = "mfatoken-";
    private const int PartBytes = 32;
    private const int PartChars = 43;

    public override string ToString() => AccountKey + "." + Secret;

    public static MfaToken New(string accountKey) => new(accountKey, Base64Url.Encode(RandomNumberGenerator.GetBytes(PartBytes)));

    public string RowKey => RowKeyPrefix + Base64Url.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(Secret)));

    public static MfaToken? TryParse(string? text)
    {
        if (text is not { Length: PartChars * 2 + 1 } || text[PartChars] != '.')
        {
            return null;
        }

        var accountKey = text[..PartChars];
        var secret = text[(PartChars + 1)..];
        return Base64Url.TryDecode(accountKey) is { Length: PartBytes } key && Base64Url.Encode(key) == accountKey
            && Base64Url.TryDecode(secret) is { Length: PartBytes } bytes && Base64Url.Encode(bytes) == secret
            ? new MfaToken(accountKey, secret)
            : null;
    }
}
