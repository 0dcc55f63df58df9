using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;

namespace Serverless.Functions.Passkeys;

/// <summary>The anonymous ceremonies of <see cref="PasskeyService"/>: discoverable sign-in and signup without a password.</summary>
public sealed partial class PasskeyService
{
    // ── Sign-in (anonymous, discoverable credentials) ───────────────────────────────────────────────────────────────

    public async Task<PasskeyOutcome> SignInOptionsAsync(string clientAddress, CancellationToken cancellationToken)
    {
        if (await clientLimits.CountAsync(accountKeys.ClientKeyOf(clientAddress), ClientAction.PasskeyOptions, refuseOverLimit: true, cancellationToken) is { } wait)
        {
            LogClientLimited(logger, TraceContext.CurrentTraceId);
            return new PasskeyOutcome.ClientLimited(wait);
        }

        var challenge = PasskeyChallenge.New(CeremonyPurpose.SignIn, Now());
        await challenges.AddAsync(new ChallengeRecord(challenge, null, null, null, null, null), cancellationToken);
        return new PasskeyOutcome.Options(ceremonies.AssertionOptionsFor(challenge).ToJson());
    }

    /// <summary>
    /// A discoverable sign-in in three storage requests (the login budget): the challenge is used up by one delete, the
    /// account and the credential (found through the user handle, which names the account's partition) are read by one
    /// query, and the new signature counter (conditional on the row read) and the session are written in one batch.
    /// </summary>
    public async Task<PasskeyOutcome> SignInAsync(PasskeyCredentialRequest request, string clientAddress, string? userAgent, CancellationToken cancellationToken)
    {
        var clientKey = accountKeys.ClientKeyOf(clientAddress);
        if (clientLimits.RetryAfter(clientKey, ClientAction.FailedLogin) is { } clientWait)
        {
            LogClientLimited(logger, TraceContext.CurrentTraceId);
            metrics.LoginAttempted(LoginOutcome.Throttled);
            return new PasskeyOutcome.ClientLimited(clientWait);
        }

        if (PasskeyCeremonies.ParseAssertion(request.Credential) is not { } assertion)
        {
            return Invalid("credential", "Send the assertion the browser returned (PublicKeyCredential.toJSON()).");
        }

        if (await ceremonies.VerifyAssertionAsync(assertion, expectedAccountKey: null, cancellationToken) is { } verified)
        {
            var opened = sessions.Open(AccountService.ViewOf(verified.User), verified.User.AccountKey, userAgent);
            if (await passkeys.TryCommitSignInAsync(verified.Passkey, verified.SignCount, Now(), opened.Row, cancellationToken))
            {
                LogSignedIn(logger, verified.User.Id, verified.Passkey.Id, TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Success);
                return new PasskeyOutcome.SignedIn(opened.Answer);
            }

            // The credential row changed since it was read: another sign-in with this passkey got there first.
            LogRefused(logger, verified.User.Id, "the credential was used concurrently", TraceContext.CurrentTraceId);
        }

        await clientLimits.CountAsync(clientKey, ClientAction.FailedLogin, refuseOverLimit: false, cancellationToken);
        metrics.LoginAttempted(LoginOutcome.Failure);
        return new PasskeyOutcome.BadCredentials();
    }

    // ── Signup with a passkey (anonymous) ───────────────────────────────────────────────────────────────────────────

    public async Task<PasskeyOutcome> SignupOptionsAsync(PasskeySignupOptionsRequest request, string clientAddress, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var email = EmailAddress.TryParse(request.Email, out var emailError);
        var displayName = AccountService.ValidDisplayName(request.DisplayName, out var nameError);
        if (emailError is not null)
        {
            errors["email"] = [emailError];
        }

        if (nameError is not null)
        {
            errors["displayName"] = [nameError];
        }

        if (errors.Count > 0 || email is null)
        {
            return new PasskeyOutcome.Invalid(errors);
        }

        if (await clientLimits.CountAsync(accountKeys.ClientKeyOf(clientAddress), ClientAction.PasskeyOptions, refuseOverLimit: true, cancellationToken) is { } wait)
        {
            LogClientLimited(logger, TraceContext.CurrentTraceId);
            return new PasskeyOutcome.ClientLimited(wait);
        }

        // Told now, before the browser makes a passkey that could never be used (the password signup tells the same).
        var accountKey = accountKeys.KeyOf(email.Value);
        if (await users.FindAsync(accountKey, cancellationToken) is not null)
        {
            return new PasskeyOutcome.EmailTaken();
        }

        var challenge = PasskeyChallenge.New(CeremonyPurpose.Signup, Now());
        var creation = ceremonies.CreationOptions(challenge, accountKey, email.Value, displayName, []);
        await challenges.AddAsync(new ChallengeRecord(challenge, null, accountKey, email.Value, displayName, PasskeyCeremonies.ForStorage(creation)), cancellationToken);
        return new PasskeyOutcome.Options(creation.ToJson());
    }

    /// <summary>
    /// Creates the account the signup options named, without a password: the same email rules, the same 409, the same
    /// per-address signup limit and the same verification mail as the password signup, with the passkey in the batch.
    /// </summary>
    public async Task<PasskeyOutcome> SignupAsync(PasskeyCredentialRequest request, string clientAddress, string? userAgent, CancellationToken cancellationToken)
    {
        if (PasskeyCeremonies.ParseAttestation(request.Credential) is not { } attestation)
        {
            return Invalid("credential", "Send the attestation the browser returned (PublicKeyCredential.toJSON()).");
        }

        var stored = await ceremonies.UseCreationChallengeAsync(attestation, CeremonyPurpose.Signup, cancellationToken);
        if (stored is not { AccountKey: { } accountKey, Email: { } email })
        {
            return Refused(null, "the signup challenge is unknown, used or expired");
        }

        if (await clientLimits.CountAsync(accountKeys.ClientKeyOf(clientAddress), ClientAction.Signup, refuseOverLimit: true, cancellationToken) is { } wait)
        {
            LogClientLimited(logger, TraceContext.CurrentTraceId);
            return new PasskeyOutcome.ClientLimited(wait);
        }

        if (await ceremonies.VerifyAttestationAsync(attestation, stored, cancellationToken) is not { } credential)
        {
            return Refused(null, "the signup attestation did not verify");
        }

        var user = new UserRecord(AccountService.NewUserId(), accountKey, email, stored.DisplayName, PasswordHash: "", Now());
        var passkey = NewPasskey(accountKey, user.Id, credential, DefaultName);
        if (!await passkeys.TryClaimAsync(passkey.Id, user.Id, accountKey, Now(), cancellationToken))
        {
            return new PasskeyOutcome.CredentialTaken();
        }

        // As the password signup: the owner marker first, then the account with its passkey, first session and
        // verification mail (no Outbox marker: MailDelivery.PrepareUnmarked) in one entity-group transaction.
        await items.AddMarkerAsync(user.Id, accountKey, user.CreatedAt, cancellationToken);
        var verification = mail.PrepareUnmarked(MailPurpose.Verify, accountKey, email);
        var session = sessions.Open(AccountService.ViewOf(user), accountKey, userAgent);
        if (!await users.TryAddAsync(
                user,
                [
                    PasskeyStore.InsertAction(passkey),
                    SessionStore.InsertAction(session.Row),
                    .. mail.RowsForSignup(verification).Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row)),
                ],
                cancellationToken))
        {
            await passkeys.ReleaseAsync(passkey.Id, user.Id, cancellationToken);
            await items.DeleteMarkerAsync(user.Id, cancellationToken);
            return new PasskeyOutcome.EmailTaken();
        }

        mail.SendInBackground(verification);
        LogSignedUp(logger, user.Id, passkey.Id, TraceContext.CurrentTraceId);
        metrics.SignedUp();
        return new PasskeyOutcome.SignedIn(session.Answer);
    }
}
