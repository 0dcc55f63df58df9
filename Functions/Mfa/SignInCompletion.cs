using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Sessions;

namespace Serverless.Functions.Mfa;

/// <summary>A sign-in decided but not stored: the row to write (a session, or an mfa token) and the answer once it is.</summary>
public sealed record PreparedSignIn(TableTransactionAction Row, SessionRecord? Session, AccountOutcome Answer);

/// <summary>
/// What every sign-in path does once a first factor was verified (a password login, a password reset's confirm, and any
/// later one such as an external sign-in): a session, or, when the account has two-step sign-in on and the first factor
/// did not verify the user already (a passkey with user verification does), the <c>mfaRequired</c> answer with a token for
/// <c>POST /api/auth/login/mfa</c> and no session.
/// </summary>
public sealed class SignInCompletion(SessionService sessions, SessionStore sessionStore, MfaStore store, TimeProvider clock)
{
    /// <summary>The decision, for a caller that writes the row in a batch of its own (a reset's confirm).</summary>
    public PreparedSignIn Prepare(UserRecord user, string? userAgent, bool userVerified = false)
    {
        if (user.MfaEnabled && !userVerified)
        {
            var token = MfaToken.New(user.AccountKey);
            var lifetime = MfaStore.TokenLifetime;
            return new PreparedSignIn(MfaStore.InsertTokenAction(user.AccountKey, token, clock.GetUtcNow().UtcDateTime + lifetime, PasswordStamp(user)),
                null, new AccountOutcome.MfaRequired(new MfaChallenge(true, token.ToString(), (int)lifetime.TotalSeconds)));
        }

        var opened = sessions.Open(AccountService.ViewOf(user), user.AccountKey, userAgent);
        return new PreparedSignIn(SessionStore.InsertAction(opened.Row), opened.Row, new AccountOutcome.SignedIn(opened.Answer));
    }

    /// <summary>
    /// The decision, stored: a session with <paramref name="withSession"/> in its batch (a login's throttle clear), or the
    /// mfa token alone; the throttle is then not cleared, so the password's attempt counts until the second step succeeds.
    /// </summary>
    public async Task<AccountOutcome> CompleteAsync(UserRecord user, string? userAgent, IReadOnlyList<TableTransactionAction> withSession,
        CancellationToken cancellationToken, bool userVerified = false)
    {
        var prepared = Prepare(user, userAgent, userVerified);
        if (prepared.Session is { } session)
        {
            await sessionStore.AddAsync(session, withSession, cancellationToken);
        }
        else
        {
            await store.AddTokenAsync(prepared.Row, cancellationToken);
        }

        return prepared.Answer;
    }

    /// <summary>Binds an mfa token to the password check it followed: a new password (a reset, a change) makes it useless.</summary>
    public static string PasswordStamp(UserRecord user) =>
        Base64Url.Encode(SHA256.HashData(Encoding.UTF8.GetBytes("mfa token stamp v1:" + user.PasswordHash)).AsSpan(0, 16));
}
