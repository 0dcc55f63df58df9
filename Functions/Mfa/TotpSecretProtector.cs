using System.Security.Cryptography;
using System.Text;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Mfa;

/// <summary>
/// Encrypts an authenticator secret for its row: AES-256-GCM under the current key, a fresh 96-bit nonce, the account key
/// as associated data (a ciphertext copied to another account's partition does not decrypt), stored as
/// <c>keyId.base64url(nonce ‖ ciphertext ‖ tag)</c>. A ciphertext of the previous key still decrypts; of any other, never.
/// </summary>
public sealed class TotpSecretProtector(MfaOptions options)
{
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    public string Protect(string accountKey, byte[] secret)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var sealedBytes = new byte[NonceBytes + secret.Length + TagBytes];
        nonce.CopyTo(sealedBytes, 0);
        using var aes = new AesGcm(options.Current.AesKey, TagBytes);
        aes.Encrypt(nonce, secret, sealedBytes.AsSpan(NonceBytes, secret.Length), sealedBytes.AsSpan(NonceBytes + secret.Length), Encoding.UTF8.GetBytes(accountKey));
        return options.Current.Id + "." + Base64Url.Encode(sealedBytes);
    }

    /// <summary>The secret, or null when the ciphertext is not one of ours for this account (unknown key id, tampered, moved).</summary>
    public byte[]? Unprotect(string accountKey, string stored)
    {
        var dot = stored.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || KeyOf(stored[..dot]) is not { } key || Base64Url.TryDecode(stored[(dot + 1)..]) is not { Length: > NonceBytes + TagBytes } sealedBytes)
        {
            return null;
        }

        var length = sealedBytes.Length - NonceBytes - TagBytes;
        var secret = new byte[length];
        try
        {
            using var aes = new AesGcm(key.AesKey, TagBytes);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes, length), sealedBytes.AsSpan(NonceBytes + length), secret,
                Encoding.UTF8.GetBytes(accountKey));
            return secret;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="stored"/> was made under an older key, so the next write should encrypt it again.</summary>
    public bool NeedsRotation(string stored) => !stored.StartsWith(options.Current.Id + ".", StringComparison.Ordinal);

    private TotpKey? KeyOf(string id) =>
        id == options.Current.Id ? options.Current : options.Previous is { } previous && id == previous.Id ? previous : null;
}
