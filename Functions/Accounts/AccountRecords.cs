namespace Serverless.Functions.Accounts;

public sealed record SignupRequest(string? Email, string? Password, string? DisplayName);

public sealed record LoginRequest(string? Email, string? Password);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record UserView(string Id, string Email, string? DisplayName, DateTime CreatedAt, bool EmailVerified);

public sealed record Session(UserView User, string AccessToken, string TokenType, int ExpiresIn, string RefreshToken, int RefreshExpiresIn);

/// <summary>What an accounts operation came to; the functions map each case to its HTTP answer.</summary>
public abstract record AccountOutcome
{
    public sealed record SignedIn(Session Session) : AccountOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : AccountOutcome;

    public sealed record EmailTaken : AccountOutcome;

    public sealed record BadCredentials : AccountOutcome;

    public sealed record Throttled(TimeSpan RetryAfter) : AccountOutcome;

    public sealed record SessionEnded : AccountOutcome;

    public sealed record LoggedOut : AccountOutcome;
}
