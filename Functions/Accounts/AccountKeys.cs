using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Accounts;

/// <summary>
/// Keys derived from identifiers a stranger may know (an email, a client address): HMAC-SHA256 under a secret from
/// configuration (<c>Auth:IdentifierHashKey</c>), so a list of emails cannot be matched against table keys, access tokens
/// (<c>acct</c>) or logs. Each kind of key has its own subkey, so an email and an address never share a key.
/// </summary>
public sealed class AccountKeys
{
    private readonly byte[] accountSubkey;
    private readonly byte[] clientSubkey;

    public AccountKeys(AuthOptions options)
    {
        accountSubkey = HMACSHA256.HashData(options.IdentifierHashKey, "account-key"u8);
        clientSubkey = HMACSHA256.HashData(options.IdentifierHashKey, "client-address"u8);
    }

    /// <summary>
    /// The account's table key (43 base64url characters) for any input, valid or not, so the login throttle counts
    /// unknown and malformed emails too: NFC when possible, then lower case, so the comparison ignores case and no raw
    /// email character (<c>/ \ # ?</c> among them) ever reaches a key.
    /// </summary>
    public string KeyOf(string email)
    {
        var normalized = Text.TryNormalize(email, out var value) ? value : email;
        return Base64Url.Encode(HMACSHA256.HashData(accountSubkey, Encoding.UTF8.GetBytes(normalized.ToLower(CultureInfo.InvariantCulture))));
    }

    /// <summary>The key a client address's counters are stored under; the address itself is never stored.</summary>
    public string ClientKeyOf(string address) => Base64Url.Encode(HMACSHA256.HashData(clientSubkey, Encoding.UTF8.GetBytes(address)));

    /// <summary>Enough of an account's key to follow it through the logs; keyed, so not matchable against a list of emails.</summary>
    public static string Hint(string accountKey) => accountKey[..8];
}
