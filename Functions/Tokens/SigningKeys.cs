using System.Security.Cryptography;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Tokens;

/// <summary>
/// The keys that sign access tokens and item cursors and derive refresh-token successors: the current one signs; the one
/// before the last rotation (<c>Auth:PreviousSigningKey</c>) is still accepted, never used to sign (README, "Rotating the
/// signing key").
/// </summary>
public static class SigningKeys
{
    /// <summary>
    /// A key's id: the first 96 bits of an HMAC of a fixed label under the key, base64url. Anyone may read it (it is in
    /// every token header); it tells nothing about the key, and two keys get the same id only by a 2^-96 chance.
    /// </summary>
    public static string IdOf(byte[] key) =>
        Base64Url.Encode(HMACSHA256.HashData(key, "serverless signing key id v1"u8).AsSpan(0, 12));
}
