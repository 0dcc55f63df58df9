using System.Text.Json;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Mfa;

/// <summary>The answer of a sign-in whose first factor was right when two-step sign-in is on: no session yet.</summary>
public sealed record MfaChallenge(bool MfaRequired, string MfaToken, int ExpiresIn);

/// <summary>
/// The proof a signed-in caller gives to change two-step sign-in: the password (or, for an account without one, a fresh
/// passkey assertion), and to turn it off or get new recovery codes, a current code or a recovery code as well.
/// </summary>
public sealed record MfaProofRequest(string? Password, JsonElement? PasskeyAssertion = null, string? Code = null, string? RecoveryCode = null);

public sealed record TotpConfirmRequest(string? Code);

public sealed record MfaLoginRequest(string? MfaToken, string? Code, string? RecoveryCode);

/// <summary>A new enrolment: the secret (base32, to type in), the URI an authenticator app reads, and that URI as a QR code.</summary>
public sealed record TotpEnrolment(string Secret, string OtpauthUri, string QrSvg);

/// <summary>Recovery codes, shown this once: only their hashes are stored.</summary>
public sealed record RecoveryCodeList(IReadOnlyList<string> RecoveryCodes);

/// <summary>What a two-step sign-in operation came to; the functions map each case to its HTTP answer.</summary>
public abstract record MfaOutcome
{
    public sealed record Enrolled(TotpEnrolment Enrolment) : MfaOutcome;

    public sealed record Codes(RecoveryCodeList List) : MfaOutcome;

    public sealed record Disabled : MfaOutcome;

    /// <summary>An answer of the sign-in's own kind (a session, a throttle, busy, a validation problem).</summary>
    public sealed record SignIn(AccountOutcome Outcome) : MfaOutcome;

    /// <summary>The second step refused: a wrong code, a spent recovery code, an unknown, spent, expired or foreign mfa token.</summary>
    public sealed record Refused : MfaOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : MfaOutcome;

    public sealed record AlreadyOn : MfaOutcome;

    public sealed record NotOn : MfaOutcome;

    public sealed record Throttled(TimeSpan RetryAfter) : MfaOutcome;

    public sealed record Busy(TimeSpan RetryAfter) : MfaOutcome;

    public sealed record AccountGone : MfaOutcome;
}
