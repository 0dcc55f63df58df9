using System.Security.Cryptography;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Sessions;

/// <summary>
/// The chain of secrets of one session: each successor is HMAC-SHA256 of the secret before it under a server key (derived
/// from <c>Auth:SigningKey</c>). Only the first secret is random, and the server stores only the hash of the current one,
/// yet it can tell how many rotations ago a presented secret was current, and re-derive the successor it handed out.
/// </summary>
public sealed class RefreshSecrets(AuthOptions options)
{
    /// <summary>How far back an old secret is still recognised (and so revokes its session): about 100 days of 15-minute refreshes.</summary>
    public const int MaxRotationsRecognised = 10_000;

    private readonly byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, options.SigningKey, 32, salt: [], info: "refresh-token-successor"u8.ToArray());

    public string Successor(string secret) => Base64Url.Encode(HMACSHA256.HashData(key, Base64Url.TryDecode(secret) ?? []));

    /// <summary>
    /// 0 when <paramref name="presented"/> is the current secret, n when it was current n rotations ago, null when it is
    /// not of this chain (a guess, or older than <paramref name="rotations"/> or <see cref="MaxRotationsRecognised"/>).
    /// </summary>
    public int? RotationsSince(string presented, string currentHash, int rotations)
    {
        if (Base64Url.TryDecode(presented) is not { } secret || Base64Url.TryDecode(currentHash) is not { Length: 32 } target)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        var limit = Math.Min(Math.Max(rotations, 0), MaxRotationsRecognised);
        for (var distance = 0; ; distance++)
        {
            SHA256.HashData(secret, hash);
            if (CryptographicOperations.FixedTimeEquals(hash, target))
            {
                return distance;
            }

            if (distance == limit)
            {
                return null;
            }

            secret = HMACSHA256.HashData(key, secret);
        }
    }
}
