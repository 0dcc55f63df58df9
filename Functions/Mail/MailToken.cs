using System.Security.Cryptography;
using System.Text;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Mail;

public enum MailPurpose
{
    Verify,
    Reset,

    /// <summary>Security notices of two-step sign-in (Mfa/MfaNotices): no link; their token row is never accepted anywhere.</summary>
    MfaOn,
    MfaOff,
    MfaRecoveryCodes,
}

/// <summary>
/// The token in a mail's link: <c>accountKey.secret</c>, both 43 base64url characters (256 bits each). The account key
/// names the partition, and the secret's SHA-256 names the row (<see cref="RowKeyOf"/>), so a token is found with one
/// point read and only its hash is ever stored.
/// </summary>
public sealed record MailToken(string AccountKey, string Secret)
{
    private const int PartBytes = 32;
    private const int PartChars = 43;

    public override string ToString() => AccountKey + "." + Secret;

    public static MailToken New(string accountKey) => new(accountKey, Base64Url.Encode(RandomNumberGenerator.GetBytes(PartBytes)));

    public string RowKey(MailPurpose purpose) => RowKeyOf(purpose, Base64Url.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(Secret))));

    public static string RowKeyOf(MailPurpose purpose, string secretHash) => $"{RowKeyPrefix(purpose)}{secretHash}";

    public static string RowKeyPrefix(MailPurpose purpose) => $"{RowKeyPrefixAll}{purpose.ToString().ToLowerInvariant()}-";

    /// <summary>What every mail token's row key starts with, whatever its purpose (the cleanup timer's range).</summary>
    public const string RowKeyPrefixAll = "mailtoken-";

    public static MailToken? TryParse(string? text)
    {
        if (text is not { Length: PartChars * 2 + 1 } || text[PartChars] != '.')
        {
            return null;
        }

        var accountKey = text[..PartChars];
        var secret = text[(PartChars + 1)..];
        return Base64Url.TryDecode(accountKey) is { Length: PartBytes } && Base64Url.TryDecode(secret) is { Length: PartBytes }
            && Base64Url.Encode(Base64Url.TryDecode(secret)!) == secret && Base64Url.Encode(Base64Url.TryDecode(accountKey)!) == accountKey
            ? new MailToken(accountKey, secret)
            : null;
    }
}
