using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Sessions;

/// <summary>
/// An opaque refresh token: <c>accountKey.sessionKey.secret</c>, each canonical base64url. The account key and the
/// session key name the session's row (one point read); the row is stored under <see cref="SessionId"/>, a hash of the
/// session key, and the secret (256 bits) only as <see cref="SecretHash"/>. Every successor secret is an HMAC of the
/// one before it (<see cref="RefreshSecrets"/>), so a rotated secret can be recognised without storing it.
/// </summary>
public sealed partial record RefreshToken(string AccountKey, string SessionKey, string Secret)
{
    public const int SessionKeyBytes = 16;
    public const int SecretBytes = 32;
    private const int AccountKeyBytes = 32;

    public override string ToString() => AccountKey + "." + SessionKey + "." + Secret;

    /// <summary>The session's public id: stored in the row key, listed to the owner and named in the access token (<c>sid</c>).</summary>
    public string SessionId => SessionIdOf(SessionKey);

    public string SecretHash => HashOf(Secret);

    public static RefreshToken New(string accountKey) =>
        new(accountKey, Base64Url.Encode(RandomNumberGenerator.GetBytes(SessionKeyBytes)), Base64Url.Encode(RandomNumberGenerator.GetBytes(SecretBytes)));

    public static string SessionIdOf(string sessionKey) =>
        Base64Url.Encode(SHA256.HashData(Base64Url.TryDecode(sessionKey) ?? []).AsSpan(0, SessionKeyBytes));

    public static string HashOf(string secret) => Base64Url.Encode(SHA256.HashData(Base64Url.TryDecode(secret) ?? []));

    /// <summary>
    /// Exactly three canonical base64url parts of the right lengths, nothing else: no whitespace, padding or other
    /// characters that a lenient decoder would skip and that would then reach a table key.
    /// </summary>
    public static RefreshToken? TryParse(string? text)
    {
        if (text is null || text.Length > 200 || !Shape().IsMatch(text))
        {
            return null;
        }

        var parts = text.Split('.');
        return IsCanonical(parts[0], AccountKeyBytes) && IsCanonical(parts[1], SessionKeyBytes) && IsCanonical(parts[2], SecretBytes)
            ? new RefreshToken(parts[0], parts[1], parts[2])
            : null;
    }

    /// <summary>A session id as listed (<see cref="SessionId"/>): canonical base64url of 16 bytes.</summary>
    public static bool IsSessionId(string? text) => text is { Length: 22 } && SessionIdShape().IsMatch(text) && IsCanonical(text, SessionKeyBytes);

    // The decoder accepts several spellings of the last character; only the one it would write back is ours.
    private static bool IsCanonical(string part, int bytes) =>
        Base64Url.TryDecode(part) is { } decoded && decoded.Length == bytes && Base64Url.Encode(decoded) == part;

    [GeneratedRegex(@"\A[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();

    [GeneratedRegex(@"\A[A-Za-z0-9_-]{22}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SessionIdShape();
}
