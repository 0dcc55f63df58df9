using System.Security.Cryptography;
using System.Text;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Items;

/// <summary>
/// <c>nextCursor</c>: the storage continuation token, bound to the user it was made for by an HMAC, so an edited
/// cursor, another user's cursor or garbage is refused before any query runs. The HMAC key comes from the signing key;
/// during a rotation, cursors made under the previous signing key are still accepted.
/// </summary>
public sealed class ItemCursor
{
    private const int TagBytes = 16;
    private readonly byte[] key;
    private readonly byte[]? previousKey;

    public ItemCursor(AuthOptions options)
    {
        key = CursorKey(options.SigningKey);
        previousKey = options.PreviousSigningKey is { } previous ? CursorKey(previous) : null;
    }

    public string Protect(string userId, string continuationToken)
    {
        var token = Encoding.UTF8.GetBytes(continuationToken);
        return Base64Url.Encode(token) + "." + Base64Url.Encode(Tag(key, userId, token));
    }

    public string? Unprotect(string userId, string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        if (cursor.Length > 2048 || dot < 0
            || Base64Url.TryDecode(cursor[..dot]) is not { Length: > 0 } token
            || Base64Url.TryDecode(cursor[(dot + 1)..]) is not { Length: TagBytes } tag
            || !(CryptographicOperations.FixedTimeEquals(tag, Tag(key, userId, token))
                || (previousKey is not null && CryptographicOperations.FixedTimeEquals(tag, Tag(previousKey, userId, token)))))
        {
            return null;
        }

        return Encoding.UTF8.GetString(token);
    }

    private static byte[] CursorKey(byte[] signingKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, signingKey, 32, info: Encoding.UTF8.GetBytes("items-cursor-v1"));

    private static byte[] Tag(byte[] key, string userId, byte[] token)
    {
        var user = Encoding.UTF8.GetBytes(userId);
        var message = new byte[4 + user.Length + token.Length];
        BitConverter.TryWriteBytes(message, user.Length);
        user.CopyTo(message, 4);
        token.CopyTo(message, 4 + user.Length);
        return HMACSHA256.HashData(key, message)[..TagBytes];
    }
}
