using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Data.Tables;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Fido2NetLib.Serialization;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Items;
using Serverless.Functions.Mail;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;

namespace Serverless.Functions.Passkeys;

/// <summary>
/// Passkeys (WebAuthn): registration for a signed-in account, discoverable sign-in, signup without a password, and the
/// account's list. Ceremony challenges are ours (<see cref="PasskeyChallenge"/>), stored for 5 minutes and used up by a
/// delete; the Fido2 library verifies origin, relying-party id hash, flags, signatures and attestation; the signature
/// counter is checked here so that a counter that does not move forward is logged as a possible clone.
/// </summary>
public sealed partial class PasskeyService(
    PasskeyOptions options,
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

    // ES256 first (every platform authenticator has it), then Ed25519 and RS256 (Windows Hello).
    private static readonly IReadOnlyList<PubKeyCredParam> Algorithms = [PubKeyCredParam.ES256, PubKeyCredParam.Ed25519, PubKeyCredParam.RS256];

    private static readonly AuthenticatorSelection Discoverable = new()
    {
        ResidentKey = ResidentKeyRequirement.Required,
        UserVerification = UserVerificationRequirement.Required,
    };

    private readonly Fido2Configuration configuration = ConfigurationOf(options);
    private readonly Fido2 library = new(ConfigurationOf(options), metadataService: null);

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
        var creation = CreationOptions(challenge, user.AccountKey, user.Email, user.DisplayName,
            [.. existing.Where(passkey => passkey.UserId == user.Id).Select(passkey => new PublicKeyCredentialDescriptor(passkey.CredentialId))]);
        await challenges.AddAsync(new ChallengeRecord(challenge, user.Id, user.AccountKey, null, null, ForStorage(creation)), cancellationToken);
        return new PasskeyOutcome.Options(creation.ToJson());
    }

    public async Task<PasskeyOutcome> RegisterAsync(Caller caller, PasskeyRegistrationRequest request, CancellationToken cancellationToken)
    {
        var name = ValidName(request.Name ?? DefaultName, out var nameError);
        if (ParseAttestation(request.Credential) is not { } attestation || name is null)
        {
            return Invalid(name is null ? "name" : "credential", nameError ?? "Send the attestation the browser returned (PublicKeyCredential.toJSON()).");
        }

        var stored = await UseCreationChallengeAsync(attestation, CeremonyPurpose.Register, cancellationToken);
        if (stored is null || stored.AccountKey != caller.AccountKey || stored.UserId != caller.UserId)
        {
            return Refused(caller.UserId, "the challenge is unknown, used, expired or another account's");
        }

        if (await VerifyAttestationAsync(attestation, stored, cancellationToken) is not { } credential)
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
        return new PasskeyOutcome.Options(AssertionOptionsFor(challenge).ToJson());
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

        if (ParseAssertion(request.Credential) is not { } assertion)
        {
            return Invalid("credential", "Send the assertion the browser returned (PublicKeyCredential.toJSON()).");
        }

        if (await VerifyAssertionAsync(assertion, expectedAccountKey: null, cancellationToken) is { } verified)
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
        var creation = CreationOptions(challenge, accountKey, email.Value, displayName, []);
        await challenges.AddAsync(new ChallengeRecord(challenge, null, accountKey, email.Value, displayName, ForStorage(creation)), cancellationToken);
        return new PasskeyOutcome.Options(creation.ToJson());
    }

    /// <summary>
    /// Creates the account the signup options named, without a password: the same email rules, the same 409, the same
    /// per-address signup limit and the same verification mail as the password signup, with the passkey in the batch.
    /// </summary>
    public async Task<PasskeyOutcome> SignupAsync(PasskeyCredentialRequest request, string clientAddress, string? userAgent, CancellationToken cancellationToken)
    {
        if (ParseAttestation(request.Credential) is not { } attestation)
        {
            return Invalid("credential", "Send the attestation the browser returned (PublicKeyCredential.toJSON()).");
        }

        var stored = await UseCreationChallengeAsync(attestation, CeremonyPurpose.Signup, cancellationToken);
        if (stored is not { AccountKey: { } accountKey, Email: { } email })
        {
            return Refused(null, "the signup challenge is unknown, used or expired");
        }

        if (await clientLimits.CountAsync(accountKeys.ClientKeyOf(clientAddress), ClientAction.Signup, refuseOverLimit: true, cancellationToken) is { } wait)
        {
            LogClientLimited(logger, TraceContext.CurrentTraceId);
            return new PasskeyOutcome.ClientLimited(wait);
        }

        if (await VerifyAttestationAsync(attestation, stored, cancellationToken) is not { } credential)
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
        await items.AddMarkerAsync(user.Id, cancellationToken);
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

            if (user.PasswordHash.Length == 0 && owned.Count == 1)
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

        if (ParseAssertion(assertionJson) is not { } assertion
            || await VerifyAssertionAsync(assertion, caller.AccountKey, cancellationToken) is not { } verified
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

    // ── Verification ────────────────────────────────────────────────────────────────────────────────────────────────

    private sealed record VerifiedAssertion(UserRecord User, PasskeyRecord Passkey, uint SignCount);

    /// <summary>
    /// The challenge (a sign-in one, fresh, used up now), the account and credential the user handle and credential id
    /// name, then the library's checks (origin, relying-party id hash, user presence and verification, signature), then
    /// the counter. Null for any failure; the reason is logged, never returned.
    /// </summary>
    private async Task<VerifiedAssertion?> VerifyAssertionAsync(AuthenticatorAssertionRawResponse assertion, string? expectedAccountKey,
        CancellationToken cancellationToken)
    {
        var challenge = PasskeyChallenge.TryParse(ChallengeOf(assertion.Response?.ClientDataJson));
        if (challenge is null || challenge.Purpose != CeremonyPurpose.SignIn || !challenge.IsFresh(Now()))
        {
            return Fail(null, "the challenge is not a fresh sign-in challenge");
        }

        if (assertion.Response!.UserHandle is not { Length: 32 } userHandle || assertion.RawId is not { Length: > 0 and <= 1023 } rawId)
        {
            return Fail(null, "the assertion has no user handle or credential id (not a discoverable credential of this service)");
        }

        var accountKey = Base64Url.Encode(userHandle);
        if (expectedAccountKey is not null && accountKey != expectedAccountKey)
        {
            return Fail(null, "the assertion is of another account");
        }

        if (!await challenges.TryConsumeAsync(challenge, cancellationToken))
        {
            return Fail(null, "the challenge was used already, or never issued");
        }

        var (user, passkey) = await passkeys.FindForSignInAsync(accountKey, PasskeyRecord.IdOf(rawId), cancellationToken);
        if (user is null || passkey is null || passkey.UserId != user.Id)
        {
            return Fail(user?.Id, "no such credential for the account the user handle names");
        }

        try
        {
            // The stored counter is checked below, not by the library, so that a clone is told apart and logged.
            var result = await library.MakeAssertionAsync(new MakeAssertionParams
            {
                AssertionResponse = assertion,
                OriginalOptions = AssertionOptionsFor(challenge),
                StoredPublicKey = passkey.PublicKey,
                StoredSignatureCounter = 0,
                IsUserHandleOwnerOfCredentialIdCallback = (owner, _) => Task.FromResult(
                    owner.UserHandle.AsSpan().SequenceEqual(userHandle) && owner.CredentialId.AsSpan().SequenceEqual(passkey.CredentialId)),
            }, cancellationToken);

            if ((result.SignCount != 0 || passkey.SignCount != 0) && result.SignCount <= passkey.SignCount)
            {
                LogPossibleClone(logger, user.Id, passkey.Id, passkey.SignCount, result.SignCount, TraceContext.CurrentTraceId);
                return null;
            }

            return new VerifiedAssertion(user, passkey, result.SignCount);
        }
        catch (Exception exception) when (IsVerificationFailure(exception))
        {
            return Fail(user.Id, ReasonOf(exception));
        }
    }

    /// <summary>Reads the stored challenge of a creation ceremony and uses it up; null when not fresh, of another purpose, used or unknown.</summary>
    private async Task<ChallengeRecord?> UseCreationChallengeAsync(AuthenticatorAttestationRawResponse attestation, CeremonyPurpose purpose,
        CancellationToken cancellationToken)
    {
        var challenge = PasskeyChallenge.TryParse(ChallengeOf(attestation.Response?.ClientDataJson));
        if (challenge is null || challenge.Purpose != purpose || !challenge.IsFresh(Now()))
        {
            return null;
        }

        var stored = await challenges.FindAsync(challenge, cancellationToken);
        return stored is not null && await challenges.TryConsumeAsync(challenge, cancellationToken) ? stored : null;
    }

    private async Task<RegisteredPublicKeyCredential?> VerifyAttestationAsync(AuthenticatorAttestationRawResponse attestation, ChallengeRecord stored,
        CancellationToken cancellationToken)
    {
        try
        {
            var original = CredentialCreateOptions.FromJson(stored.Options!);
            return await library.MakeNewCredentialAsync(new MakeNewCredentialParams
            {
                AttestationResponse = attestation,
                OriginalOptions = original,
                // Uniqueness across accounts is the claim's insert (PasskeyStore.TryClaimAsync), which no race can pass.
                IsCredentialIdUniqueToUserCallback = (_, _) => Task.FromResult(true),
            }, cancellationToken);
        }
        catch (Exception exception) when (IsVerificationFailure(exception))
        {
            LogRefused(logger, stored.UserId, ReasonOf(exception), TraceContext.CurrentTraceId);
            return null;
        }
    }

    // ── Helpers ─────────────────────────────────────────────────────────────────────────────────────────────────────

    private CredentialCreateOptions CreationOptions(PasskeyChallenge challenge, string accountKey, string email, string? displayName,
        IReadOnlyList<PublicKeyCredentialDescriptor> exclude) =>
        CredentialCreateOptions.Create(
            configuration,
            challenge.Bytes,
            new Fido2User { Id = Base64Url.TryDecode(accountKey)!, Name = email, DisplayName = displayName ?? email },
            Discoverable,
            AttestationConveyancePreference.None,
            exclude,
            null,
            Algorithms);

    private static Fido2Configuration ConfigurationOf(PasskeyOptions options) => new()
    {
        RPID = options.RelyingPartyId,
        RPName = options.RelyingPartyName,
        Origins = options.Origins.ToHashSet(StringComparer.Ordinal),
        Timeout = (uint)PasskeyOptions.ChallengeLifetime.TotalMilliseconds,
    };

    private AssertionOptions AssertionOptionsFor(PasskeyChallenge challenge) =>
        AssertionOptions.Create(configuration, challenge.Bytes, [], UserVerificationRequirement.Required, null);

    // The stored copy needs no list of excluded credentials (nothing verifies against it), so its row stays small.
    private static string ForStorage(CredentialCreateOptions creation)
    {
        var copy = CredentialCreateOptions.FromJson(creation.ToJson());
        copy.ExcludeCredentials = [];
        return copy.ToJson();
    }

    // The library's own serializer context has no entry for the attestation, so it is read with its type's attributes.
    private static AuthenticatorAttestationRawResponse? ParseAttestation(JsonElement? json) =>
        Parse(json, element => element.Deserialize<AuthenticatorAttestationRawResponse>()) is { Response: { AttestationObject: not null, ClientDataJson: not null } } parsed
        && parsed.RawId is not null ? parsed : null;

    private static AuthenticatorAssertionRawResponse? ParseAssertion(JsonElement? json) =>
        Parse(json, element => element.Deserialize(FidoModelSerializerContext.Default.AuthenticatorAssertionRawResponse)) is
        { Response: { AuthenticatorData: not null, Signature: not null, ClientDataJson: not null } } parsed
        && parsed.RawId is not null ? parsed : null;

    private static T? Parse<T>(JsonElement? json, Func<JsonElement, T?> deserialize) where T : class
    {
        if (json is not { ValueKind: JsonValueKind.Object } element)
        {
            return null;
        }

        try
        {
            return deserialize(element);
        }
        catch (Exception exception) when (exception is JsonException or FormatException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The challenge in a clientDataJSON, decoded; null when there is none.</summary>
    private static byte[]? ChallengeOf(byte[]? clientDataJson)
    {
        if (clientDataJson is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(clientDataJson);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("challenge", out var challenge) && challenge.ValueKind == JsonValueKind.String
                ? Base64Url.TryDecode(challenge.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsVerificationFailure(Exception exception) =>
        exception is Fido2VerificationException or CborContentException or FormatException or ArgumentException or JsonException
            or InvalidOperationException or CryptographicException or OverflowException or NotSupportedException or InvalidCastException;

    private static string ReasonOf(Exception exception) =>
        exception is Fido2VerificationException fido ? fido.Code.ToString() : exception.GetType().Name;

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

    private VerifiedAssertion? Fail(string? userId, string reason)
    {
        LogRefused(logger, userId, reason, TraceContext.CurrentTraceId);
        return null;
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

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Possible cloned authenticator: user {UserId}, passkey {PasskeyId}, signature counter {StoredCount} then {PresentedCount}; sign-in refused (trace {TraceId})")]
    private static partial void LogPossibleClone(ILogger logger, string userId, string passkeyId, uint storedCount, uint presentedCount, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Passkey check before account deletion failed for user {UserId} (trace {TraceId})")]
    private static partial void LogReauthenticationFailed(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client address over its passkey or signup limit (trace {TraceId})")]
    private static partial void LogClientLimited(ILogger logger, string? traceId);
}
