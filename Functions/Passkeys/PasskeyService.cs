using System.Text.Json;
using Azure.Data.Tables;
using Fido2NetLib.Objects;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Passkeys;

/// <summary>
/// Passkeys (WebAuthn): registration for a signed-in account, discoverable sign-in, signup without a password, the
/// account's list, and a passkey as proof before account deletion. The ceremonies' options and checks are
/// <see cref="PasskeyCeremonies"/>'; this class holds the account rules around them (limits, one way in, sessions, mail).
/// </summary>
public sealed partial class PasskeyService(
    PasskeyCeremonies ceremonies,
    ChallengeStore challenges,
    PasskeyStore passkeys,
    UserStore users,
    ItemStore items,
    SessionService sessions,
    AccountKeys accountKeys,
    ClientLimiter clientLimits,
    LoginThrottle throttle,
    MailDelivery mail,
    TimeProvider clock,
    AppMetrics metrics,
    ILogger<PasskeyService> logger)
{
    public const int MaxNameLength = 64;
    public const string DefaultName = "Passkey";

    private const int MaxDeleteAttempts = 5;

    // ── Registration (bearer) ───────────────────────────────────────────────────────────────────────────────────────

    /// <summary>Creation options for a new passkey of the caller's account, excluding the credentials it already has.</summary>
    public async Task<PasskeyOutcome> RegistrationOptionsAsync(Caller caller, CancellationToken cancellationToken)
    {
        var (user, existing) = await passkeys.ListAsync(caller.AccountKey, cancellationToken);
        if (user is null || user.Id != caller.UserId)
        {
            return new PasskeyOutcome.AccountGone();
        }

        var challenge = PasskeyChallenge.New(CeremonyPurpose.Register, Now());
        var creation = ceremonies.CreationOptions(challenge, user.AccountKey, user.Email, user.DisplayName,
            [.. existing.Where(passkey => passkey.UserId == user.Id).Select(passkey => new PublicKeyCredentialDescriptor(passkey.CredentialId))]);
        await challenges.AddAsync(new ChallengeRecord(challenge, user.Id, user.AccountKey, null, null, PasskeyCeremonies.ForStorage(creation)), cancellationToken);
        return new PasskeyOutcome.Options(creation.ToJson());
    }

    public async Task<PasskeyOutcome> RegisterAsync(Caller caller, PasskeyRegistrationRequest request, CancellationToken cancellationToken)
    {
        var name = ValidName(request.Name ?? DefaultName, out var nameError);
        if (PasskeyCeremonies.ParseAttestation(request.Credential) is not { } attestation || name is null)
        {
            return Invalid(name is null ? "name" : "credential", nameError ?? "Send the attestation the browser returned (PublicKeyCredential.toJSON()).");
        }

        var stored = await ceremonies.UseCreationChallengeAsync(attestation, CeremonyPurpose.Register, cancellationToken);
        if (stored is null || stored.AccountKey != caller.AccountKey || stored.UserId != caller.UserId)
        {
            return Refused(caller.UserId, "the challenge is unknown, used, expired or another account's");
        }

        if (await ceremonies.VerifyAttestationAsync(attestation, stored, cancellationToken) is not { } credential)
        {
            return Refused(caller.UserId, "the attestation did not verify");
        }

        var passkey = NewPasskey(caller.AccountKey, caller.UserId, credential, name);
        if (!await passkeys.TryClaimAsync(passkey.Id, caller.UserId, caller.AccountKey, Now(), cancellationToken))
        {
            LogCredentialTaken(logger, caller.UserId, passkey.Id, TraceContext.CurrentTraceId);
            return new PasskeyOutcome.CredentialTaken();
        }

        switch (await passkeys.TryAddAsync(passkey, cancellationToken))
        {
            case PasskeyAdded.AlreadyThere:
                // The account's own passkey, registered again: the claim is that passkey's and stays.
                LogCredentialTaken(logger, caller.UserId, passkey.Id, TraceContext.CurrentTraceId);
                return new PasskeyOutcome.CredentialTaken();
            case PasskeyAdded.AccountGone:
                await passkeys.ReleaseAsync(passkey.Id, caller.UserId, cancellationToken);
                return new PasskeyOutcome.AccountGone();
        }

        LogRegistered(logger, caller.UserId, passkey.Id, TraceContext.CurrentTraceId);
        return new PasskeyOutcome.Registered(ViewOf(passkey));
    }

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
        // verification mail in one entity-group transaction.
        await items.AddMarkerAsync(user.Id, accountKey, user.CreatedAt, cancellationToken);
        var verification = await mail.PrepareAsync(MailPurpose.Verify, accountKey, email, cancellationToken);
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

    // ── The account's passkeys (bearer) ─────────────────────────────────────────────────────────────────────────────

    public async Task<PasskeyList?> ListAsync(Caller caller, CancellationToken cancellationToken)
    {
        var (user, all) = await passkeys.ListAsync(caller.AccountKey, cancellationToken);
        return user is null || user.Id != caller.UserId
            ? null
            : new PasskeyList([.. all.Where(passkey => passkey.UserId == caller.UserId)
                .OrderByDescending(passkey => passkey.CreatedAt).ThenBy(passkey => passkey.Id, StringComparer.Ordinal)
                .Select(ViewOf)]);
    }

    public async Task<PasskeyOutcome> RenameAsync(Caller caller, string id, PasskeyRenameRequest request, CancellationToken cancellationToken)
    {
        if (ValidName(request.Name, out var nameError) is not { } name)
        {
            return Invalid("name", nameError!);
        }

        if (!IsPasskeyId(id) || await passkeys.FindForSignInAsync(caller.AccountKey, id, cancellationToken) is not ({ } user, { } passkey)
            || user.Id != caller.UserId || passkey.UserId != caller.UserId || !await passkeys.TryRenameAsync(passkey, name, cancellationToken))
        {
            return new PasskeyOutcome.NotFound();
        }

        return new PasskeyOutcome.Renamed(ViewOf(passkey with { Name = name }));
    }

    /// <summary>
    /// Deletes one of the caller's passkeys unless it is the account's last way in (no password and no other passkey).
    /// The decision and the delete are tied by the account row's ETag, so parallel deletions cannot remove the last two.
    /// </summary>
    public async Task<PasskeyOutcome> DeleteAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        if (!IsPasskeyId(id))
        {
            return new PasskeyOutcome.NotFound();
        }

        for (var attempt = 0; attempt < MaxDeleteAttempts; attempt++)
        {
            var (user, all) = await passkeys.ListAsync(caller.AccountKey, cancellationToken);
            if (user is null || user.Id != caller.UserId)
            {
                return new PasskeyOutcome.AccountGone();
            }

            var owned = all.Where(passkey => passkey.UserId == user.Id).ToList();
            if (owned.Find(passkey => passkey.Id == id) is not { } passkey)
            {
                return new PasskeyOutcome.NotFound();
            }

            if (!user.HasPassword && owned.Count == 1)
            {
                return new PasskeyOutcome.LastWayIn();
            }

            if (await passkeys.TryDeleteAsync(user, passkey, cancellationToken))
            {
                await passkeys.ReleaseAsync(passkey.Id, user.Id, cancellationToken);
                LogDeleted(logger, user.Id, passkey.Id, TraceContext.CurrentTraceId);
                return new PasskeyOutcome.Deleted();
            }
        }

        throw new InvalidOperationException($"A passkey could not be deleted in {MaxDeleteAttempts} attempts: its account kept changing.");
    }

    // ── Proving the account again with a passkey (account deletion) ─────────────────────────────────────────────────

    /// <summary>
    /// Checks a sign-in assertion as proof that the caller holds one of the account's passkeys: of this account, from a
    /// sign-in challenge of the last 5 minutes, used once. Each attempt is one of the account's login attempts (reserved
    /// before it is checked, as a password would be), so a wrong or foreign assertion counts as a failed login.
    /// </summary>
    public async Task<Reauthentication> ReauthenticateAsync(Caller caller, JsonElement assertionJson, CancellationToken cancellationToken)
    {
        var (user, read) = await users.FindForLoginAsync(caller.AccountKey, cancellationToken);
        if (user is null || user.Id != caller.UserId)
        {
            return new Reauthentication.AccountGone();
        }

        if (throttle.RetryAfter(read) is { } wait)
        {
            return new Reauthentication.Throttled(wait);
        }

        if (await throttle.TryReserveAsync(caller.AccountKey, read, cancellationToken) is not { } reserved)
        {
            return new Reauthentication.Throttled(LoginThrottle.LostRace);
        }

        if (PasskeyCeremonies.ParseAssertion(assertionJson) is not { } assertion
            || await ceremonies.VerifyAssertionAsync(assertion, caller.AccountKey, cancellationToken) is not { } verified
            || verified.User.Id != caller.UserId)
        {
            LogReauthenticationFailed(logger, caller.UserId, TraceContext.CurrentTraceId);
            metrics.LoginAttempted(LoginOutcome.Failure);
            return new Reauthentication.WrongPassword();
        }

        await passkeys.TryRecordUseAsync(verified.Passkey, verified.SignCount, Now(), cancellationToken);
        await throttle.ClearAsync(caller.AccountKey, reserved, cancellationToken);
        return new Reauthentication.Verified(verified.User);
    }

    // ── Helpers ─────────────────────────────────────────────────────────────────────────────────────────────────────

    private PasskeyRecord NewPasskey(string accountKey, string userId, RegisteredPublicKeyCredential credential, string name) =>
        new(accountKey, PasskeyRecord.IdOf(credential.Id), userId, credential.Id, credential.PublicKey, credential.SignCount, name, Now(), null);

    private static PasskeyView ViewOf(PasskeyRecord passkey) => new(passkey.Id, passkey.Name, passkey.CreatedAt, passkey.LastUsedAt);

    private static bool IsPasskeyId(string? id) => id is { Length: 43 } && Base64Url.TryDecode(id) is { Length: 32 };

    internal static string? ValidName(string? input, out string? error)
    {
        error = null;
        if (input is null || input.Length > MaxNameLength * 4 || !Validation.Text.TryNormalize(input, out var name)
            || name.Length == 0 || Validation.Text.CodePoints(name) > MaxNameLength || Validation.Text.HasControlCharacters(name))
        {
            error = $"Name the passkey with 1 to {MaxNameLength} characters, without control characters.";
            return null;
        }

        return name;
    }

    private static PasskeyOutcome.Invalid Invalid(string field, string message) => new(new Dictionary<string, string[]> { [field] = [message] });

    private PasskeyOutcome.Refused Refused(string? userId, string reason)
    {
        LogRefused(logger, userId, reason, TraceContext.CurrentTraceId);
        return new PasskeyOutcome.Refused();
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} registered passkey {PasskeyId} (trace {TraceId})")]
    private static partial void LogRegistered(ILogger logger, string userId, string passkeyId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} signed up with passkey {PasskeyId} (trace {TraceId})")]
    private static partial void LogSignedUp(ILogger logger, string userId, string passkeyId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} signed in with passkey {PasskeyId} (trace {TraceId})")]
    private static partial void LogSignedIn(ILogger logger, string userId, string passkeyId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} deleted passkey {PasskeyId} (trace {TraceId})")]
    private static partial void LogDeleted(ILogger logger, string userId, string passkeyId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Passkey ceremony refused for user {UserId}: {Reason} (trace {TraceId})")]
    private static partial void LogRefused(ILogger logger, string? userId, string reason, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Passkey registration refused for user {UserId}: credential {PasskeyId} is registered already (trace {TraceId})")]
    private static partial void LogCredentialTaken(ILogger logger, string userId, string passkeyId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Passkey check before account deletion failed for user {UserId} (trace {TraceId})")]
    private static partial void LogReauthenticationFailed(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client address over its passkey or signup limit (trace {TraceId})")]
    private static partial void LogClientLimited(ILogger logger, string? traceId);
}
