using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Telemetry;

namespace Serverless.Functions.Mail;

/// <summary>The mail rules of API.md: verifying an email, sending the verification again, and resetting a password.</summary>
public sealed partial class MailService(
    MailStore store,
    MailDelivery delivery,
    AccountService accounts,
    RefreshTokenStore refreshTokens,
    LoginThrottleStore throttle,
    PasswordPolicy passwordPolicy,
    PasswordHasher hasher,
    MailOptions options,
    TimeProvider clock,
    ILogger<MailService> logger) : IDisposable
{
    public static readonly TimeSpan VerificationInterval = TimeSpan.FromMinutes(1);
    public const int MaxResetMailsPerHour = 3;
    public static readonly TimeSpan ResetWindow = TimeSpan.FromHours(1);

    public const string ResetAccepted = "If an account has this email address, a mail with a link to reset its password is on its way.";
    public const string VerificationAccepted = "If the email address is not verified yet, a mail with a new link is on its way.";

    private readonly PartitionedRateLimiter<string> resetsPerClient = PartitionedRateLimiter.Create<string, string>(client =>
        RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.ResetRequestsPerClientPerHour,
            Window = TimeSpan.FromHours(1),
            QueueLimit = 0,
        }));

    public async Task<MailOutcome> SendVerificationAsync(Caller caller, CancellationToken cancellationToken)
    {
        var (user, rows) = await store.ReadAsync(caller.AccountKey, [MailStore.LimitRowKey(MailPurpose.Verify)], cancellationToken);
        if (user is null || user.Id != caller.UserId)
        {
            return new MailOutcome.AccountGone();
        }

        if (user.EmailVerified)
        {
            return new MailOutcome.Accepted(VerificationAccepted);
        }

        var now = Now();
        var limit = MailStore.LimitOf(rows, MailPurpose.Verify);
        if (limit is not null && now - limit.WindowStart < VerificationInterval)
        {
            return new MailOutcome.TooSoon(limit.WindowStart + VerificationInterval - now, "One verification mail a minute: wait before asking again.");
        }

        var mail = await delivery.PrepareAsync(MailPurpose.Verify, user.AccountKey, user.Email, cancellationToken);
        if (!await store.TryCommitAsync(user.AccountKey, MailPurpose.Verify, limit, new MailLimit(1, now), mail, now, cancellationToken))
        {
            // Another request sent one just now.
            return new MailOutcome.TooSoon(VerificationInterval, "One verification mail a minute: wait before asking again.");
        }

        delivery.SendInBackground(mail);
        return new MailOutcome.Accepted(VerificationAccepted);
    }

    public async Task<MailOutcome> VerifyEmailAsync(VerifyEmailRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Token))
        {
            return Missing("token", "Send the token from the mail's link.");
        }

        if (MailToken.TryParse(request.Token) is not { } token
            || await FindTokenAsync(token, MailPurpose.Verify, cancellationToken) is not ({ } user, { } stored)
            || !await store.TrySpendAsync(stored, newPasswordHash: null, cancellationToken))
        {
            return new MailOutcome.BadToken();
        }

        LogVerified(logger, user.Id, TraceContext.CurrentTraceId);
        return new MailOutcome.Verified();
    }

    /// <summary>
    /// Always the same answer, after the same storage requests, whether or not the email has an account: the per-account
    /// limit row is kept for unknown emails too, and a marker written for both. Only the mail itself differs, after the answer.
    /// </summary>
    public async Task<MailOutcome> RequestPasswordResetAsync(PasswordResetRequest request, string client, CancellationToken cancellationToken)
    {
        var email = EmailAddress.TryParse(request.Email, out var emailError);
        if (email is null)
        {
            return Missing("email", emailError ?? "Enter an email address.");
        }

        using var lease = resetsPerClient.AttemptAcquire(client);
        if (!lease.IsAcquired)
        {
            var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
            return new MailOutcome.TooSoon(wait, "Too many password reset requests from this address: wait before trying again.");
        }

        var (user, rows) = await store.ReadAsync(email.Key, [MailStore.LimitRowKey(MailPurpose.Reset)], cancellationToken);
        var now = Now();
        var limit = MailStore.LimitOf(rows, MailPurpose.Reset);
        var inWindow = limit is not null && now - limit.WindowStart < ResetWindow;
        if (inWindow && limit!.Count >= MaxResetMailsPerHour)
        {
            return new MailOutcome.Accepted(ResetAccepted);
        }

        var mail = await delivery.PrepareAsync(MailPurpose.Reset, email.Key, user?.Email ?? email.Value, cancellationToken);
        var next = inWindow ? new MailLimit(limit!.Count + 1, limit.WindowStart) : new MailLimit(1, now);
        var stored = await store.TryCommitAsync(email.Key, MailPurpose.Reset, limit, next, user is null ? null : mail, now, cancellationToken);
        if (stored && user is not null)
        {
            delivery.SendInBackground(mail);
        }

        return new MailOutcome.Accepted(ResetAccepted);
    }

    public async Task<MailOutcome> ConfirmPasswordResetAsync(PasswordResetConfirmRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Token))
        {
            return Missing("token", "Send the token from the mail's link.");
        }

        if (MailToken.TryParse(request.Token) is not { } token
            || await FindTokenAsync(token, MailPurpose.Reset, cancellationToken) is not ({ } user, { } stored))
        {
            return new MailOutcome.BadToken();
        }

        if (passwordPolicy.Check(request.NewPassword, EmailAddress.TryParse(user.Email, out _)) is { } passwordError)
        {
            return Missing("newPassword", passwordError);
        }

        var passwordHash = hasher.Hash(request.NewPassword!);
        if (!await store.TrySpendAsync(stored, passwordHash, cancellationToken))
        {
            return new MailOutcome.BadToken();
        }

        // Whoever else held a session (or a guessed password) loses it: every session ends and the throttle starts over.
        var ended = await refreshTokens.RevokeAllOfAccountAsync(user.AccountKey, cancellationToken);
        await throttle.ClearAsync(user.AccountKey, cancellationToken);
        LogPasswordReset(logger, user.Id, ended, TraceContext.CurrentTraceId);
        var session = await accounts.StartSessionAsync(user with { PasswordHash = passwordHash, EmailVerified = true }, cancellationToken);
        return new MailOutcome.PasswordReset(session);
    }

    public void Dispose() => resetsPerClient.Dispose();

    private async Task<(UserRecord? User, StoredToken? Token)> FindTokenAsync(MailToken token, MailPurpose purpose, CancellationToken cancellationToken)
    {
        var rowKey = token.RowKey(purpose);
        var (user, rows) = await store.ReadAsync(token.AccountKey, [rowKey], cancellationToken);
        var stored = MailStore.TokenOf(rows, rowKey);
        return user is null || stored is null || stored.ExpiresAt <= Now() ? (null, null) : (user, stored);
    }

    private static MailOutcome.Invalid Missing(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] });

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} verified their email (trace {TraceId})")]
    private static partial void LogVerified(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} reset their password; {EndedSessions} sessions ended (trace {TraceId})")]
    private static partial void LogPasswordReset(ILogger logger, string userId, int endedSessions, string? traceId);
}
