using System.Security.Cryptography;
using System.Text;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Items;

/// <summary>
/// <c>nextCursor</c>: the storage continuation token, bound to the user it was made for by an HMAC, so an edited
/// cursor, another user's cursor or garbage is refused before any query runs.
/// </summary>
public sealed class ItemCursor
{
    private const int TagBytes = 16;
    private readonly byte[] key;

    public ItemCursor(AuthOptions options)
    {
        key = HKDF.DeriveKey(HashAlgorithmName.SHA256, options.SigningKey, 32, info: Encoding.UTF8.GetBytes("items-cursor-v1"));
    }

    public string Protect(string userId, string continuationToken)
    {
        var token = Encoding.UTF8.GetBytes(continuationToken);
        return Base64Url.Encode(token) + "." + Base64Url.Encode(Tag(userId, token));
    }

    public string? Unprotect(string userId, string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        if (cursor.Length > 2048 || dot < 0
            || Base64Url.TryDecode(cursor[..dot]) is not { Length: > 0 } token
            || Base64Url.TryDecode(cursor[(dot + 1)..]) is not { Length: TagBytes } tag
            || !CryptographicOperations.FixedTimeEquals(tag, Tag(userId, token)))
        {
            return null;
        }

        return Encoding.UTF8.GetString(token);
    }

    private byte[] Tag(string userId, byte[] token)
    {
        var user = Encoding.UTF8.GetBytes(userId);
        var message = new byte[4 + user.Length + token.Length];
        BitConverter.TryWriteBytes(message, user.Length);
        user.CopyTo(message, 4);
        token.CopyTo(message, 4 + user.Length);
        return HMACSHA256.HashData(key, message)[..TagBytes];
    }
}
