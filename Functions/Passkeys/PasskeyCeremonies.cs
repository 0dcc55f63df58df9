using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text.Json;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Fido2NetLib.Serialization;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Telemetry;

namespace Serverless.Functions.Passkeys;

/// <summary>An assertion that verified: its account, its passkey as read (with the ETag the counter write needs), and the new counter.</summary>
public sealed record VerifiedAssertion(UserRecord User, PasskeyRecord Passkey, uint SignCount);

/// <summary>
/// The WebAuthn ceremonies themselves: the options the browser gets, and the checks of what it answers. Challenges are
/// ours (<see cref="PasskeyChallenge"/>: purpose, issue time, 256 random bits), stored for 5 minutes and used up by a
/// delete; the Fido2 library verifies origin, relying-party id hash, user presence and verification, signatures and
/// attestation; the signature counter is checked here so that a counter that does not move forward is told apart and
/// logged as a possible clone. Every failure is logged with its reason and returned as null, never explained to the client.
/// </summary>
public sealed partial class PasskeyCeremonies(
    PasskeyOptions options,
    ChallengeStore challenges,
    PasskeyStore passkeys,
    TimeProvider clock,
    ILogger<PasskeyCeremonies> logger)
{
    // ES256 first (every platform authenticator has it), then Ed25519 and RS256 (Windows Hello).
    private static readonly IReadOnlyList<PubKeyCredParam> Algorithms = [PubKeyCredParam.ES256, PubKeyCredParam.Ed25519, PubKeyCredParam.RS256];

    private static readonly AuthenticatorSelection Discoverable = new()
    {
        ResidentKey = ResidentKeyRequirement.Required,
        UserVerification = UserVerificationRequirement.Required,
    };

    private readonly Fido2Configuration configuration = ConfigurationOf(options);
    private readonly Fido2 library = new(ConfigurationOf(options), metadataService: null);

    /// <summary>
    /// The challenge (a sign-in one, fresh, used up now), the account and credential the user handle and credential id
    /// name, then the library's checks (origin, relying-party id hash, user presence and verification, signature), then
    /// the counter. Null for any failure; the reason is logged, never returned.
    /// </summary>
    public async Task<VerifiedAssertion?> VerifyAssertionAsync(AuthenticatorAssertionRawResponse assertion, string? expectedAccountKey,
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
    public async Task<ChallengeRecord?> UseCreationChallengeAsync(AuthenticatorAttestationRawResponse attestation, CeremonyPurpose purpose,
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

    public async Task<RegisteredPublicKeyCredential?> VerifyAttestationAsync(AuthenticatorAttestationRawResponse attestation, ChallengeRecord stored,
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

    /// <summary>Creation options: a discoverable, user-verified credential, no attestation, ES256, Ed25519 and RS256.</summary>
    public CredentialCreateOptions CreationOptions(PasskeyChallenge challenge, string accountKey, string email, string? displayName,
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

    /// <summary>Request options for a discoverable sign-in: no allowed-credentials list, user verification required.</summary>
    public AssertionOptions AssertionOptionsFor(PasskeyChallenge challenge) =>
        AssertionOptions.Create(configuration, challenge.Bytes, [], UserVerificationRequirement.Required, null);

    // The stored copy needs no list of excluded credentials (nothing verifies against it), so its row stays small.
    public static string ForStorage(CredentialCreateOptions creation)
    {
        var copy = CredentialCreateOptions.FromJson(creation.ToJson());
        copy.ExcludeCredentials = [];
        return copy.ToJson();
    }

    // The library's own serializer context has no entry for the attestation, so it is read with its type's attributes.
    public static AuthenticatorAttestationRawResponse? ParseAttestation(JsonElement? json) =>
        Parse(json, element => element.Deserialize<AuthenticatorAttestationRawResponse>()) is { Response: { AttestationObject: not null, ClientDataJson: not null } } parsed
        && parsed.RawId is not null ? parsed : null;

    public static AuthenticatorAssertionRawResponse? ParseAssertion(JsonElement? json) =>
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

    private VerifiedAssertion? Fail(string? userId, string reason)
    {
        LogRefused(logger, userId, reason, TraceContext.CurrentTraceId);
        return null;
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Passkey ceremony refused for user {UserId}: {Reason} (trace {TraceId})")]
    private static partial void LogRefused(ILogger logger, string? userId, string reason, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Possible cloned authenticator: user {UserId}, passkey {PasskeyId}, signature counter {StoredCount} then {PresentedCount}; sign-in refused (trace {TraceId})")]
    private static partial void LogPossibleClone(ILogger logger, string userId, string passkeyId, uint storedCount, uint presentedCount, string? traceId);
}
