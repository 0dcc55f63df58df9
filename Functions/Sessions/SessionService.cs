using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Sessions;

/// <summary>
/// Sessions: starting one at signup or login, refresh-token rotation with reuse detection, logout, and the owner's list
/// of sessions with sign-out per session or everywhere.
/// </summary>
public sealed partial class SessionService(
    SessionStore store,
    RefreshSecrets secrets,
    AccessTokens accessTokens,
    AuthOptions options,
    TimeProvider clock,
    AppMetrics metrics,
    ILogger<SessionService> logger)
{
    /// <summary>
    /// The token just rotated away may be presented again for this long (a double click, two tabs, a lost answer): it gets
    /// the same successor the first refresh got, so both holders share one chain and the next divergence is reuse.
    /// Any older token, or this one later, revokes the session.
    /// </summary>
    public static readonly TimeSpan ConcurrentRefreshGrace = TimeSpan.FromSeconds(10);

    // A refresh whose conditional write lost reads again: the winner's rotation is then the grace case above.
    private const int MaxRefreshAttempts = 3;

    /// <summary>A new session for <paramref name="user"/>: the row to store (alone or in a batch) and the answer to send once it is.</summary>
    public OpenedSession Open(UserView user, string accountKey, string? userAgent)
    {
        var now = Now();
        var token = RefreshToken.New(accountKey);
        var endsAt = now + options.SessionLifetime;
        var row = new SessionRecord(accountKey, token.SessionId, token.SecretHash, Rotations: 0, user.Id, user.Email, user.DisplayName,
            user.CreatedAt, ClientDescription.FromUserAgent(userAgent), now, now, now, Min(now + options.RefreshTokenLifetime, endsAt), endsAt)
        {
            EmailVerified = user.EmailVerified,
        };
        return new OpenedSession(row, Answer(row, token));
    }

    /// <summary>Opens and stores a session, with <paramref name="alongside"/> in the same batch where given (see <see cref="SessionStore.AddAsync(SessionRecord, IReadOnlyList{Azure.Data.Tables.TableTransactionAction}, CancellationToken)"/>).</summary>
    public async Task<Session> StartAsync(UserView user, string accountKey, string? userAgent, CancellationToken cancellationToken,
        IReadOnlyList<Azure.Data.Tables.TableTransactionAction>? alongside = null)
    {
        var opened = Open(user, accountKey, userAgent);
        await store.AddAsync(opened.Row, alongside ?? [], cancellationToken);
        return opened.Answer;
    }

    public async Task<AccountOutcome> RefreshAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (MissingRefreshToken(request) is { } invalid)
        {
            return invalid;
        }

        if (RefreshToken.TryParse(request.RefreshToken) is not { } presented)
        {
            return new AccountOutcome.SessionEnded();
        }

        for (var attempt = 0; attempt < MaxRefreshAttempts; attempt++)
        {
            var now = Now();
            if (await store.FindAsync(presented.AccountKey, presented.SessionId, cancellationToken) is not { } session || !session.IsActive(now))
            {
                return new AccountOutcome.SessionEnded();
            }

            switch (secrets.RotationsSince(presented.Secret, session.SecretHash, session.Rotations))
            {
                case null:
                    // Not a secret this session ever had: a guess cannot end anyone's session.
                    return new AccountOutcome.SessionEnded();
                case 0:
                    var successor = secrets.Successor(presented.Secret);
                    var rotated = session with
                    {
                        SecretHash = RefreshToken.HashOf(successor),
                        Rotations = session.Rotations + 1,
                        LastUsedAt = now,
                        RotatedAt = now,
                        ExpiresAt = Min(now + options.RefreshTokenLifetime, session.EndsAt),
                    };
                    if (await store.TryReplaceAsync(rotated, cancellationToken))
                    {
                        return new AccountOutcome.SignedIn(Answer(rotated, presented with { Secret = successor }));
                    }

                    continue;
                case 1 when now - session.RotatedAt < ConcurrentRefreshGrace:
                    return new AccountOutcome.SignedIn(Answer(session, presented with { Secret = secrets.Successor(presented.Secret) }));
                default:
                    // A rotated token presented again: whoever holds it may have stolen it, so the whole session ends.
                    await store.TryDeleteAsync(session.AccountKey, session.SessionId, cancellationToken);
                    LogRefreshReuse(logger, session.UserId, session.SessionId, TraceContext.CurrentTraceId);
                    metrics.RefreshTokenReused();
                    return new AccountOutcome.SessionEnded();
            }
        }

        return new AccountOutcome.SessionEnded();
    }

    /// <summary>Ends the token's session if the token is one of its own, current or rotated; anything else is just as logged out.</summary>
    public async Task<AccountOutcome> LogoutAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (MissingRefreshToken(request) is { } invalid)
        {
            return invalid;
        }

        if (RefreshToken.TryParse(request.RefreshToken) is { } presented
            && await store.FindAsync(presented.AccountKey, presented.SessionId, cancellationToken) is { } session
            && secrets.RotationsSince(presented.Secret, session.SecretHash, session.Rotations) is not null)
        {
            await store.TryDeleteAsync(session.AccountKey, session.SessionId, cancellationToken);
        }

        return new AccountOutcome.LoggedOut();
    }

    /// <summary>The caller's active sessions, newest first; the one the access token names is <c>current</c>.</summary>
    public async Task<SessionList> ListAsync(Caller caller, CancellationToken cancellationToken)
    {
        var now = Now();
        var sessions = await store.ListAsync(caller.AccountKey, cancellationToken);
        return new SessionList([.. sessions
            .Where(session => session.IsActive(now) && session.UserId == caller.UserId)
            .OrderByDescending(session => session.CreatedAt).ThenBy(session => session.SessionId, StringComparer.Ordinal)
            .Select(session => new SessionView(session.SessionId, session.CreatedAt, session.LastUsedAt, session.ExpiresAt, session.Client,
                session.SessionId == caller.SessionId))]);
    }

    /// <summary>Ends one of the caller's sessions; false when the caller has no session of that id.</summary>
    public async Task<bool> EndAsync(Caller caller, string? sessionId, CancellationToken cancellationToken)
    {
        if (!RefreshToken.IsSessionId(sessionId) || !await store.TryDeleteAsync(caller.AccountKey, sessionId!, cancellationToken))
        {
            return false;
        }

        LogSessionEnded(logger, caller.UserId, sessionId!, TraceContext.CurrentTraceId);
        return true;
    }

    /// <summary>Signs the caller out everywhere, this session included.</summary>
    public async Task EndAllAsync(Caller caller, CancellationToken cancellationToken)
    {
        var ended = await store.EndAllAsync(caller.AccountKey, cancellationToken);
        LogAllSessionsEnded(logger, caller.UserId, ended, TraceContext.CurrentTraceId);
    }

    private Session Answer(SessionRecord session, RefreshToken token)
    {
        var user = new UserView(session.UserId, session.Email, session.DisplayName, session.UserCreatedAt, session.EmailVerified);
        var refreshExpiresIn = (int)Math.Max(0, Math.Ceiling((session.ExpiresAt - Now()).TotalSeconds));
        return new Session(user, accessTokens.Issue(user.Id, session.AccountKey, session.SessionId), "Bearer", accessTokens.LifetimeSeconds,
            token.ToString(), refreshExpiresIn);
    }

    private static AccountOutcome.Invalid? MissingRefreshToken(RefreshRequest request) =>
        string.IsNullOrEmpty(request.RefreshToken)
            ? new AccountOutcome.Invalid(new Dictionary<string, string[]> { ["refreshToken"] = ["Send the refresh token of the session."] })
            : null;

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refresh token reuse for user {UserId}: session {SessionId} revoked (trace {TraceId})")]
    private static partial void LogRefreshReuse(ILogger logger, string userId, string sessionId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} ended session {SessionId} (trace {TraceId})")]
    private static partial void LogSessionEnded(ILogger logger, string userId, string sessionId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} signed out everywhere: {SessionCount} sessions ended (trace {TraceId})")]
    private static partial void LogAllSessionsEnded(ILogger logger, string userId, int sessionCount, string? traceId);
}

/// <summary>A session not yet stored: its row, and the answer for the client.</summary>
public sealed record OpenedSession(SessionRecord Row, Session Answer);
