using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Mfa;

/// <summary>
/// The key that encrypts authenticator secrets at rest (<c>Auth:TotpSecretKey</c>, from Key Vault in Azure), and the one
/// before its last rotation (<c>Auth:PreviousTotpSecretKey</c>), which still decrypts and never encrypts: the same
/// rotation as the signing keys (<see cref="Tokens.SigningKeys"/>). Each key has an id, stored with every ciphertext it made.
/// </summary>
public sealed record MfaOptions
{
    public required TotpKey Current { get; init; }

    public TotpKey? Previous { get; init; }

    /// <summary>The issuer an authenticator app shows beside the account (the product's name).</summary>
    public string Issuer { get; init; } = "My Items";

    public static MfaOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(AuthOptions.Section);
        var current = AuthOptions.SecretFrom(section, "TotpSecretKey")
            ?? throw new InvalidOperationException("Setting 'Auth__TotpSecretKey' is missing: set it to a random secret of at least 32 bytes (e.g. openssl rand -base64 48); it encrypts the authenticator secrets of two-step sign-in.");
        var previous = AuthOptions.SecretFrom(section, "PreviousTotpSecretKey");
        var issuer = configuration["Mail:ProductName"];
        return new MfaOptions
        {
            Current = TotpKey.From(current),
            Previous = previous is null || previous.AsSpan().SequenceEqual(current) ? null : TotpKey.From(previous),
            Issuer = string.IsNullOrWhiteSpace(issuer) ? "My Items" : issuer.Trim(),
        };
    }
}

/// <summary>
/// One configured key: its id (the first 96 bits of an HMAC of a fixed label under it, as a signing key's) and the AES-256
/// key derived from it under another label, so the configured secret itself never keys the cipher.
/// </summary>
public sealed class TotpKey
{
    private TotpKey(string id, byte[] aesKey)
    {
        Id = id;
        AesKey = aesKey;
    }

    public string Id { get; }

    internal byte[] AesKey { get; }

    public static TotpKey From(byte[] configured) => new(
        Base64Url.Encode(HMACSHA256.HashData(configured, "serverless totp key id v1"u8).AsSpan(0, 12)),
        HMACSHA256.HashData(configured, "serverless totp secret encryption v1"u8));
}
