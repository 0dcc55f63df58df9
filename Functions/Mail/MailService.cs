using System.Threading.RateLimiting;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Mfa;
using Serverless.Functions.Passwords;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Mail;

/// <summary>The mail rules of docs/api.md: verifying an email, sending the verification again, and resetting a password.</summary>
public sealed partial class MailService(
    MailStore store,
    MailDelivery delivery,
    SessionStore sessionStore,
    LoginThrottle throttle,
    AccountKeys accountKeys,
    PasswordPolicy passwordPolicy,
    PasswordHasher hasher,
    MailOptions options,
    SignInCompletion signIns,
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
            || await FindTokenAsync(token, MailPurpose.Verify, cancellationToken) is not ({ } user, { } stored, _)
            || !await store.TrySpendAsync(stored, cancellationToken))
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

        var accountKey = accountKeys.KeyOf(email.Value);
        var (user, rows) = await store.ReadAsync(accountKey, [MailStore.LimitRowKey(MailPurpose.Reset)], cancellationToken);
        var now = Now();
        var limit = MailStore.LimitOf(rows, MailPurpose.Reset);
        var inWindow = limit is not null && now - limit.WindowStart < ResetWindow;
        if (inWindow && limit!.Count >= MaxResetMailsPerHour)
        {
            return new MailOutcome.Accepted(ResetAccepted);
        }

        var mail = await delivery.PrepareAsync(MailPurpose.Reset, accountKey, user?.Email ?? email.Value, cancellationToken);
        var next = inWindow ? new MailLimit(limit!.Count + 1, limit.WindowStart) : new MailLimit(1, now);
        var stored = await store.TryCommitAsync(accountKey, MailPurpose.Reset, limit, next, user is null ? null : mail, now, cancellationToken);
        if (stored && user is not null)
        {
            delivery.SendInBackground(mail);
        }

        return new MailOutcome.Accepted(ResetAccepted);
    }

    public async Task<MailOutcome> ConfirmPasswordResetAsync(PasswordResetConfirmRequest request, string? userAgent, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Token))
        {
            return Missing("token", "Send the token from the mail's link.");
        }

        if (MailToken.TryParse(request.Token) is not { } token
            || await FindTokenAsync(token, MailPurpose.Reset, cancellationToken, LoginThrottleStore.RowKey) is not ({ } user, { } stored, var rows))
        {
            return new MailOutcome.BadToken();
        }

        if (passwordPolicy.Check(request.NewPassword, EmailAddress.TryParse(user.Email, out _)) is { } passwordError)
        {
            return Missing("newPassword", passwordError);
        }

        var passwordHash = hasher.Hash(request.NewPassword!);

        // Whoever else held a session loses it: the token is spent, the password replaced, the sessions ended and the new
        // one started in one entity-group transaction (sessions beyond what fits in the batch are ended just before).
        // The sign-in is decided as every sign-in's is: with two-step sign-in on, a reset does not sign in past it (the
        // batch then holds an mfa token instead of the session, bound to the new password). The batch holds the account
        // row's ETag, so a change of the account since it was read (two-step sign-in turned on, above all) fails it; the
        // confirm then reads once more and decides again on what it finds.
        PreparedSignIn signIn;
        int ended;
        for (var attempt = 1; ; attempt++)
        {
            var reset = user with { PasswordHash = passwordHash, EmailVerified = true };
            signIn = signIns.Prepare(reset, userAgent);
            var alongside = MailStore.SpendActions(stored, passwordHash, user.ETag).Append(signIn.Row).ToList();
            if (await sessionStore.EndAllAsync(user.AccountKey, alongside, cancellationToken) is { } count)
            {
                ended = count;
                break;
            }

            if (attempt == 2 || await FindTokenAsync(token, MailPurpose.Reset, cancellationToken, LoginThrottleStore.RowKey) is not ({ } again, { } storedAgain, var rowsAgain))
            {
                return new MailOutcome.BadToken();
            }

            (user, stored, rows) = (again, storedAgain, rowsAgain);
        }

        // A guessed password no longer matters: the throttle starts over (unless an attempt was reserved meanwhile).
        if (rows.TryGetValue(LoginThrottleStore.RowKey, out var throttleRow))
        {
            await throttle.ClearAsync(user.AccountKey, LoginThrottleStore.FromRow(throttleRow), cancellationToken);
        }

        LogPasswordReset(logger, user.Id, ended, TraceContext.CurrentTraceId);
        return new MailOutcome.PasswordReset(signIn.Answer);
    }

    public void Dispose() => resetsPerClient.Dispose();

    private async Task<(UserRecord? User, StoredToken? Token, IReadOnlyDictionary<string, TableEntity> Rows)> FindTokenAsync(
        MailToken token, MailPurpose purpose, CancellationToken cancellationToken, params string[] alsoRead)
    {
        var rowKey = token.RowKey(purpose);
        var (user, rows) = await store.ReadAsync(token.AccountKey, [rowKey, .. alsoRead], cancellationToken);
        var stored = MailStore.TokenOf(rows, rowKey);
        return user is null || stored is null || stored.ExpiresAt <= Now() ? (null, null, rows) : (user, stored, rows);
    }

    private static MailOutcome.Invalid Missing(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] });

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} verified their email (trace {TraceId})")]
    private static partial void LogVerified(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} reset their password; {EndedSessions} sessions ended (trace {TraceId})")]
    private static partial void LogPasswordReset(ILogger logger, string userId, int endedSessions, string? traceId);
}
