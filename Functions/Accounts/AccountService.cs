using Microsoft.Extensions.Logging;
using Serverless.Functions.Mail;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Accounts;

/// <summary>The accounts rules: signup, login with its throttle, refresh-token rotation, logout and the caller's profile.</summary>
public sealed partial class AccountService(
    UserStore users,
    RefreshTokenStore refreshTokens,
    LoginThrottle throttle,
    PasswordPolicy passwordPolicy,
    PasswordHasher hasher,
    AccessTokens accessTokens,
    AuthOptions options,
    TimeProvider clock,
    AppMetrics metrics,
    MailDelivery mail,
    ILogger<AccountService> logger)
{
    public const int MaxDisplayNameLength = 64;

    /// <summary>
    /// Two refreshes with one token at once (a double click, two tabs) must give one session, not end it: the loser
    /// that arrives just after the rotation is refused without revoking. Any other old token, or this one later, revokes.
    /// </summary>
    public static readonly TimeSpan ConcurrentRefreshGrace = TimeSpan.FromSeconds(10);

    public async Task<AccountOutcome> SignupAsync(SignupRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var email = EmailAddress.TryParse(request.Email, out var emailError);
        AddError(errors, "email", emailError);
        AddError(errors, "password", passwordPolicy.Check(request.Password, email));
        var displayName = ValidDisplayName(request.DisplayName, out var nameError);
        AddError(errors, "displayName", nameError);
        if (errors.Count > 0 || email is null)
        {
            return new AccountOutcome.Invalid(errors);
        }

        var user = new UserRecord(NewUserId(), email.Key, email.Value, displayName, hasher.Hash(request.Password!), Now());

        // The verification mail's token, outbox and limit rows go into the account row's batch: no account without its mail.
        var verification = await mail.PrepareAsync(MailPurpose.Verify, user.AccountKey, user.Email, cancellationToken);
        if (!await users.TryAddAsync(user, mail.RowsForSignup(verification), cancellationToken))
        {
            return new AccountOutcome.EmailTaken();
        }

        mail.SendInBackground(verification);

        LogSignedUp(logger, user.Id, TraceContext.CurrentTraceId);
        metrics.SignedUp();
        return new AccountOutcome.SignedIn(await StartSessionAsync(user, cancellationToken));
    }

    public async Task<AccountOutcome> LoginAsync(LoginRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        AddError(errors, "email", string.IsNullOrWhiteSpace(request.Email) ? "Enter your email address." : null);
        AddError(errors, "password", string.IsNullOrEmpty(request.Password) ? "Enter your password." : null);
        if (errors.Count > 0)
        {
            return new AccountOutcome.Invalid(errors);
        }

        var accountKey = EmailAddress.KeyOf(request.Email!);
        var password = request.Password!;

        // The account's row and its throttle row in one request; the throttle decides before any hashing is done.
        var (storedUser, throttleState) = await users.FindForLoginAsync(accountKey, cancellationToken);
        if (throttle.RetryAfter(throttleState) is { } wait)
        {
            LogThrottled(logger, Hint(accountKey), TraceContext.CurrentTraceId);
            metrics.LoginAttempted(LoginOutcome.Throttled);
            return new AccountOutcome.Throttled(wait);
        }

        var user = await VerifyAsync(storedUser, password, cancellationToken);
        if (user is null)
        {
            await throttle.RecordFailureAsync(accountKey, throttleState, cancellationToken);
            LogLoginFailed(logger, Hint(accountKey), TraceContext.CurrentTraceId);
            metrics.LoginAttempted(LoginOutcome.Failure);
            return new AccountOutcome.BadCredentials();
        }

        await throttle.ResetAsync(accountKey, throttleState, cancellationToken);
        LogLoggedIn(logger, user.Id, TraceContext.CurrentTraceId);
        metrics.LoginAttempted(LoginOutcome.Success);
        return new AccountOutcome.SignedIn(await StartSessionAsync(user, cancellationToken));
    }

    public async Task<AccountOutcome> RefreshAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (MissingRefreshToken(request) is { } invalid)
        {
            return invalid;
        }

        if (RefreshToken.TryParse(request.RefreshToken) is not { } presented
            || await refreshTokens.FindAsync(presented.FamilyId, cancellationToken) is not { } family
            || family.Revoked || family.ExpiresAt <= Now())
        {
            return new AccountOutcome.SessionEnded();
        }

        if (!FixedTimeEquals(presented.SecretHash, family.SecretHash))
        {
            if (family.PreviousSecretHash is { } previous && FixedTimeEquals(presented.SecretHash, previous)
                && Now() - family.RotatedAt < ConcurrentRefreshGrace)
            {
                return new AccountOutcome.SessionEnded();
            }

            // An old, already rotated token: whoever holds it may have stolen it, so the whole session ends.
            await refreshTokens.RevokeAsync(family.FamilyId, cancellationToken);
            LogRefreshReuse(logger, family.UserId, TraceContext.CurrentTraceId);
            metrics.RefreshTokenReused();
            return new AccountOutcome.SessionEnded();
        }

        var next = presented.Rotate();
        var rotated = family with
        {
            SecretHash = next.SecretHash,
            ExpiresAt = Now() + options.RefreshTokenLifetime,
            PreviousSecretHash = family.SecretHash,
            RotatedAt = Now(),
        };
        if (!await refreshTokens.TryReplaceAsync(rotated, cancellationToken))
        {
            return new AccountOutcome.SessionEnded();
        }

        var user = new UserView(family.UserId, family.Email, family.DisplayName, family.UserCreatedAt, family.EmailVerified);
        return new AccountOutcome.SignedIn(NewSession(user, family.AccountKey, next));
    }

    /// <summary>Ends the token's session; an unknown or already ended one is just as logged out.</summary>
    public async Task<AccountOutcome> LogoutAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (MissingRefreshToken(request) is { } invalid)
        {
            return invalid;
        }

        if (RefreshToken.TryParse(request.RefreshToken) is { } presented)
        {
            await refreshTokens.RevokeAsync(presented.FamilyId, cancellationToken);
        }

        return new AccountOutcome.LoggedOut();
    }

    private static AccountOutcome.Invalid? MissingRefreshToken(RefreshRequest request) =>
        string.IsNullOrEmpty(request.RefreshToken)
            ? new AccountOutcome.Invalid(new Dictionary<string, string[]> { ["refreshToken"] = ["Send the refresh token of the session."] })
            : null;

    public async Task<UserView?> GetProfileAsync(Caller caller, CancellationToken cancellationToken)
    {
        var user = await users.FindAsync(caller.AccountKey, cancellationToken);
        return user is not null && user.Id == caller.UserId ? ViewOf(user) : null;
    }

    // No stored password is this long or this malformed, and hashing it would only cost us (or throw).
    private static bool CannotMatch(string password) =>
        Text.CodePoints(password) > AuthOptions.MaxPasswordLength || !Text.TryNormalize(password, out _, trim: false);

    private async Task<UserRecord?> VerifyAsync(UserRecord? user, string password, CancellationToken cancellationToken)
    {
        if (CannotMatch(password))
        {
            return null;
        }

        if (user is null)
        {
            hasher.VerifyNothing(password);
            return null;
        }

        var check = hasher.Verify(password, user.PasswordHash);
        if (check == PasswordCheck.NeedsUpgrade)
        {
            await users.TryReplacePasswordHashAsync(user, hasher.Hash(password), cancellationToken);
            LogHashUpgraded(logger, user.Id);
        }

        return check == PasswordCheck.Wrong ? null : user;
    }

    /// <summary>A new session for the user (after a login, a signup or a password reset).</summary>
    public async Task<Session> StartSessionAsync(UserRecord user, CancellationToken cancellationToken)
    {
        var token = RefreshToken.NewFamily();
        await refreshTokens.AddAsync(
            new RefreshFamily(token.FamilyId, token.SecretHash, user.Id, user.AccountKey, user.Email, user.DisplayName, user.CreatedAt,
                Now() + options.RefreshTokenLifetime, Revoked: false) { EmailVerified = user.EmailVerified },
            cancellationToken);
        return NewSession(ViewOf(user), user.AccountKey, token);
    }

    private Session NewSession(UserView user, string accountKey, RefreshToken refreshToken) => new(
        user,
        accessTokens.Issue(user.Id, accountKey),
        "Bearer",
        accessTokens.LifetimeSeconds,
        refreshToken.ToString(),
        (int)options.RefreshTokenLifetime.TotalSeconds);

    private static string? ValidDisplayName(string? input, out string? error)
    {
        error = null;
        if (input is null)
        {
            return null;
        }

        if (input.Length > MaxDisplayNameLength * 4 || !Text.TryNormalize(input, out var name)
            || name.Length == 0 || Text.CodePoints(name) > MaxDisplayNameLength || Text.HasControlCharacters(name))
        {
            error = $"Use 1 to {MaxDisplayNameLength} characters, without control characters.";
            return null;
        }

        return name;
    }

    private static void AddError(Dictionary<string, string[]> errors, string field, string? error)
    {
        if (error is not null)
        {
            errors[field] = [error];
        }
    }

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(a), System.Text.Encoding.ASCII.GetBytes(b));

    private static UserView ViewOf(UserRecord user) => new(user.Id, user.Email, user.DisplayName, user.CreatedAt, user.EmailVerified);

    private static string NewUserId() => Guid.CreateVersion7().ToString("N");

    // Enough of the email's key to follow one account through the logs; not the email, and not reversible.
    private static string Hint(string accountKey) => accountKey[..8];

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} signed up (trace {TraceId})")]
    private static partial void LogSignedUp(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} logged in (trace {TraceId})")]
    private static partial void LogLoggedIn(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login failed for account {AccountHint} (trace {TraceId})")]
    private static partial void LogLoginFailed(ILogger logger, string accountHint, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login throttled for account {AccountHint} (trace {TraceId})")]
    private static partial void LogThrottled(ILogger logger, string accountHint, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refresh token reuse for user {UserId}: session revoked (trace {TraceId})")]
    private static partial void LogRefreshReuse(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Password hash of user {UserId} upgraded to the current cost")]
    private static partial void LogHashUpgraded(ILogger logger, string userId);
}
