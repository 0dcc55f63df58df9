using System.Security.Cryptography;

namespace Serverless.Functions.Accounts;

/// <summary>
/// An opaque refresh token: <c>familyId.secret</c>, both base64url. The family id (128 random bits) names the login
/// session's row; the secret (256 random bits) is stored only as its SHA-256, and changes at every rotation.
/// </summary>
public sealed record RefreshToken(string FamilyId, string Secret)
{
    private const int FamilyIdBytes = 16;
    private const int SecretBytes = 32;

    public override string ToString() => FamilyId + "." + Secret;

    public string SecretHash => Base64Url.Encode(SHA256.HashData(Base64Url.TryDecode(Secret) ?? []));

    public static RefreshToken NewFamily() =>
        new(Base64Url.Encode(RandomNumberGenerator.GetBytes(FamilyIdBytes)), NewSecret());

    public RefreshToken Rotate() => this with { Secret = NewSecret() };

    public static RefreshToken? TryParse(string? text)
    {
        if (text is null || text.Length > 200)
        {
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return null;
        }

        var familyId = text[..dot];
        var secret = text[(dot + 1)..];
        return Base64Url.TryDecode(familyId) is { Length: FamilyIdBytes } && Base64Url.TryDecode(secret) is { Length: SecretBytes }
            ? new RefreshToken(familyId, secret)
            : null;
    }

    private static string NewSecret() => Base64Url.Encode(RandomNumberGenerator.GetBytes(SecretBytes));
}
