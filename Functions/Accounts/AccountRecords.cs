
namespace Serverless.Functions.Accounts;

public sealed record SignupRequest(string? Email, string? Password, string? DisplayName);

public sealed record LoginRequest(string? Email, string? Password);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record UserView(string Id, string Email, string? DisplayName, DateTime CreatedAt, bool EmailVerified);

/// <summary>
/// The signed-in user as <c>GET /api/me</c> shows them: the user, and whether the account has a password (an account made
/// with a passkey has none until a reset sets one), so a client knows which proof to ask for before deleting it, and
/// whether two-step sign-in is on.
/// </summary>
public sealed record ProfileView(string Id, string Email, string? DisplayName, DateTime CreatedAt, bool EmailVerified, bool HasPassword, bool MfaEnabled);

public sealed record Session(UserView User, string AccessToken, string TokenType, int ExpiresIn, string RefreshToken, int RefreshExpiresIn);

/// <summary>What an accounts operation came to; the functions map each case to its HTTP answer.</summary>
public abstract record AccountOutcome
{
    public sealed record SignedIn(Session Session) : AccountOutcome;

    /// <summary>The first factor was right and two-step sign-in is on: no session yet (Mfa/SignInCompletion).</summary>
    public sealed record MfaRequired(Mfa.MfaChallenge Challenge) : AccountOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : AccountOutcome;

    public sealed record EmailTaken : AccountOutcome;

    public sealed record BadCredentials : AccountOutcome;

    public sealed record Throttled(TimeSpan RetryAfter) : AccountOutcome;

    /// <summary>The client address is over its signup or failed-login limit.</summary>
    public sealed record ClientLimited(TimeSpan RetryAfter) : AccountOutcome;

    /// <summary>This instance is hashing as many passwords as it may; nothing was done.</summary>
    public sealed record Busy(TimeSpan RetryAfter) : AccountOutcome;

    public sealed record SessionEnded : AccountOutcome;

    public sealed record LoggedOut : AccountOutcome;

    /// <summary>The access token is valid but its account no longer exists.</summary>
    public sealed record AccountGone : AccountOutcome;
}

/// <summary>What a signed-in caller's password check came to (<see cref="AccountService.ReauthenticateAsync"/>).</summary>
public abstract record Reauthentication
{
    public sealed record Verified(UserRecord User) : Reauthentication;

    public sealed record WrongPassword : Reauthentication;

    public sealed record Throttled(TimeSpan RetryAfter) : Reauthentication;

    public sealed record AccountGone : Reauthentication;

    public sealed record Busy(TimeSpan RetryAfter) : Reauthentication;
}
