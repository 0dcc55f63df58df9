using System.Text.Json;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Passkeys;

/// <summary><c>POST /api/auth/signup/passkey/options</c>: the account to create once the passkey is made.</summary>
public sealed record PasskeySignupOptionsRequest(string? Email, string? DisplayName);

/// <summary>
/// A ceremony's answer: <c>credential</c> is the browser's <c>PublicKeyCredential</c> as JSON (its <c>toJSON()</c>, base64url
/// binary fields), an attestation for registration and signup, an assertion for sign-in.
/// </summary>
public sealed record PasskeyCredentialRequest(JsonElement? Credential);

/// <summary><c>POST /api/me/passkeys</c>: the attestation and the name the user gives the passkey.</summary>
public sealed record PasskeyRegistrationRequest(JsonElement? Credential, string? Name);

/// <summary><c>PATCH /api/me/passkeys/{id}</c>.</summary>
public sealed record PasskeyRenameRequest(string? Name);

public sealed record PasskeyView(string Id, string Name, DateTime CreatedAt, DateTime? LastUsedAt);

public sealed record PasskeyList(IReadOnlyList<PasskeyView> Passkeys);

/// <summary>What a passkey operation came to; the functions map each case to its HTTP answer.</summary>
public abstract record PasskeyOutcome
{
    /// <summary>Ceremony options for the browser, already serialized as WebAuthn's JSON form.</summary>
    public sealed record Options(string Json) : PasskeyOutcome;

    public sealed record Registered(PasskeyView Passkey) : PasskeyOutcome;

    public sealed record Renamed(PasskeyView Passkey) : PasskeyOutcome;

    public sealed record Deleted : PasskeyOutcome;

    public sealed record SignedIn(Session Session) : PasskeyOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : PasskeyOutcome;

    /// <summary>The attestation did not verify (origin, relying party, challenge used or expired, user verification…).</summary>
    public sealed record Refused : PasskeyOutcome;

    /// <summary>A sign-in assertion was not accepted, whatever the reason (one answer for all).</summary>
    public sealed record BadCredentials : PasskeyOutcome;

    /// <summary>The credential id is registered already, to this account or another.</summary>
    public sealed record CredentialTaken : PasskeyOutcome;

    public sealed record EmailTaken : PasskeyOutcome;

    /// <summary>The passkey is the account's last way in (no password, no other passkey).</summary>
    public sealed record LastWayIn : PasskeyOutcome;

    public sealed record NotFound : PasskeyOutcome;

    public sealed record ClientLimited(TimeSpan RetryAfter) : PasskeyOutcome;

    public sealed record AccountGone : PasskeyOutcome;
}
