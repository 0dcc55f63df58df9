using Microsoft.Extensions.Logging;
using Serverless.Functions.Telemetry;

namespace Serverless.Functions.Mail;

/// <summary>
/// The outbox: a mail is recorded durably (its token and outbox rows in the account's batch, after a marker in Outbox
/// for every mail but signup's) before anyone is told it will come; the request then sends it in the background, so no
/// request waits for a mail server; <see cref="DrainAsync"/> (the timer) sends whatever has a marker, with retries and
/// backoff, and <see cref="RecoverAsync"/> (the hourly cleanup) gives a marker back to any row left without one.
/// </summary>
public sealed partial class MailDelivery(
    MailStore store,
    OutboxStore outbox,
    IMailSender sender,
    MailContent content,
    TimeProvider clock,
    ILogger<MailDelivery> logger)
{
    /// <summary>The drainer leaves younger mails to the request that is still sending them.</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromMinutes(2);

    public const int DrainBatchSize = 100;
    public const int MaxAttempts = 10;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    /// <summary>
    /// An outbox row whose next attempt has been due this long was left by the drainer (no marker leads to it): the
    /// recovery marks it again. Well over <see cref="DrainGrace"/>, so no request is still sending it.
    /// </summary>
    public static readonly TimeSpan RecoverAfter = TimeSpan.FromMinutes(10);

    private readonly List<Task> inFlight = [];

    /// <summary>A new mail with a fresh token; its marker is stored now, its rows are for the caller's batch.</summary>
    public async Task<PendingMail> PrepareAsync(MailPurpose purpose, string accountKey, string to, CancellationToken cancellationToken)
    {
        var mail = PrepareUnmarked(purpose, accountKey, to);
        await outbox.AddAsync(mail.MarkerKey, cancellationToken);
        return mail with { Marker = mail.MarkerKey };
    }

    /// <summary>
    /// A new mail with a fresh token and no marker yet (signup's, so that signup stays within three transactions): the
    /// marker is written only if the send after the answer fails, and a row whose process died before that is found by
    /// <see cref="RecoverAsync"/> (the hourly cleanup), which writes it then.
    /// </summary>
    public PendingMail PrepareUnmarked(MailPurpose purpose, string accountKey, string to)
    {
        var now = Now();
        return new PendingMail(accountKey, MailStore.OutboxPrefix + Guid.NewGuid().ToString("N"), purpose, to, MailToken.New(accountKey),
            now + MailTokens.LifetimeOf(purpose)) { CreatedAt = now };
    }

    /// <summary>The rows signup adds to the account's batch: the mail and the verification limit (one mail a minute starts now).</summary>
    public IEnumerable<Azure.Data.Tables.ITableEntity> RowsForSignup(PendingMail mail) =>
        [.. MailStore.RowsOf(mail, Now()), MailStore.LimitRow(mail.AccountKey, MailPurpose.Verify, new MailLimit(1, Now()))];

    /// <summary>Sends after the answer; a failure is only logged, as the outbox row stays for the drainer.</summary>
    public void SendInBackground(PendingMail mail)
    {
        var sending = Task.Run(() => SendNowAsync(mail, CancellationToken.None));
        lock (inFlight)
        {
            inFlight.RemoveAll(task => task.IsCompleted);
            inFlight.Add(sending);
        }
    }

    /// <summary>Completes when every background send started so far has finished (tests, shutdown).</summary>
    public Task WhenIdleAsync()
    {
        lock (inFlight)
        {
            return Task.WhenAll(inFlight.ToArray());
        }
    }

    public async Task<bool> SendNowAsync(PendingMail mail, CancellationToken cancellationToken)
    {
        var accountHint = Hint(mail.AccountKey);
        try
        {
            await sender.SendAsync(content.For(mail.Purpose, mail.To, mail.Token), cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (logger.IsEnabled(LogLevel.Warning))
            {
                // The exception's type only: a mail server's message may quote the address.
                LogSendFailed(logger, mail.Purpose, accountHint, exception.GetType().Name, TraceContext.CurrentTraceId);
            }

            if (mail.Marker is null)
            {
                await MarkAfterFailureAsync(mail, accountHint, cancellationToken);
            }

            return false;
        }

        LogSent(logger, mail.Purpose, accountHint);
        try
        {
            await store.DeleteOutboxAsync(mail.AccountKey, mail.OutboxRowKey, token: null, cancellationToken);
            if (mail.Marker is { } marker)
            {
                await outbox.DeleteAsync(marker, cancellationToken);
            }
        }
        catch (Exception exception) when (exception is Azure.RequestFailedException or TimeoutException or OperationCanceledException)
        {
            // The mail went out; the drainer (or, for a row without a marker, the hourly recovery and then the drainer) finds
            // its token gone or spent, or sends once more: at least once, never lost.
            if (logger.IsEnabled(LogLevel.Warning))
            {
                LogCleanupFailed(logger, accountHint, exception.GetType().Name);
            }
        }

        return true;
    }

    /// <summary>
    /// Sends the mails whose request did not (a crash, a mail server down): today's and yesterday's markers older than
    /// <see cref="DrainGrace"/>. Each gets a fresh token (the first one's secret is gone), replacing the old one in one
    /// batch; a mail whose token was spent or expired is dropped. Returns how many mails went out.
    /// </summary>
    public async Task<int> DrainAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        var sent = 0;
        foreach (var day in new[] { OutboxStore.DayOf(now), OutboxStore.DayOf(now.AddDays(-1)) })
        {
            foreach (var marker in await outbox.ListAsync(day, now - DrainGrace, DrainBatchSize, cancellationToken))
            {
                if (await DrainOneAsync(marker, now, cancellationToken))
                {
                    sent++;
                }
            }
        }

        return sent;
    }

    private async Task<bool> DrainOneAsync(OutboxMarker marker, DateTime now, CancellationToken cancellationToken)
    {
        var (entry, token) = await store.ReadOutboxAsync(marker.AccountKey, marker.OutboxRowKey, cancellationToken);
        if (entry is null)
        {
            // Sent already, or the request stopped before its batch (or the batch was an unknown email's limit only). A batch
            // slower than the grace that lands after this is a row without a marker: the hourly recovery marks it again.
            await outbox.DeleteAsync(marker, cancellationToken);
            return false;
        }

        if (entry.NextAttemptAt > now)
        {
            return false;
        }

        if (token is null || token.ExpiresAt <= now || entry.Attempts >= MaxAttempts)
        {
            // Spent (the mail did arrive), expired (a link now would not work), or hopeless: nothing more to send.
            if (token is not null)
            {
                LogGaveUp(logger, entry.Purpose, Hint(entry.AccountKey), entry.Attempts);
            }

            await store.DeleteOutboxAsync(entry.AccountKey, entry.RowKey, token, cancellationToken);
            await outbox.DeleteAsync(marker, cancellationToken);
            return false;
        }

        var mail = new PendingMail(entry.AccountKey, entry.RowKey, entry.Purpose, entry.To, MailToken.New(entry.AccountKey), token.ExpiresAt)
        {
            CreatedAt = entry.CreatedAt,
            Marker = marker,
        };
        return await store.TryReissueAsync(entry, token, mail, now + Backoff(entry.Attempts), cancellationToken)
            && await SendNowAsync(mail, cancellationToken);
    }

    /// <summary>
    /// The cleanup's part of the outbox: <paramref name="rows"/> are outbox rows (account key, row key) that its scan found
    /// due more than <see cref="RecoverAfter"/> ago, which no drainer with a marker leaves so long (it tries a due mail at
    /// its next tick): their marker was never written (a signup whose process died after its batch, or whose marker write
    /// failed too) or was deleted before the mail went (a drainer that met the marker before a slow batch landed). Each row
    /// read again that is still stuck gets its marker back (the one key it can have, so never a second one), and the
    /// drainer sends it at its next tick under its usual claim; a row whose mail is past its use (token spent or expired,
    /// attempts used up) is deleted instead, with its token and any marker, and a log line.
    /// </summary>
    public async Task<OutboxRecovery> RecoverAsync(IEnumerable<(string AccountKey, string RowKey)> rows, CancellationToken cancellationToken)
    {
        var now = Now();
        var marked = 0;
        var dropped = 0;
        foreach (var (accountKey, rowKey) in rows)
        {
            var (entry, token) = await store.ReadOutboxAsync(accountKey, rowKey, cancellationToken);
            if (entry is null || entry.NextAttemptAt > now - RecoverAfter)
            {
                // Sent, dropped or tried since the scan read it.
                continue;
            }

            if (token is null || token.ExpiresAt <= now || entry.Attempts >= MaxAttempts)
            {
                if (await store.TryDropOutboxAsync(entry, token, cancellationToken))
                {
                    LogDropped(logger, entry.Purpose, Hint(entry.AccountKey), entry.Attempts, entry.CreatedAt);
                    await outbox.DeleteAsync(entry.MarkerKey, cancellationToken);
                    dropped++;
                }

                continue;
            }

            await outbox.AddAsync(entry.MarkerKey, cancellationToken);
            LogMarkedAgain(logger, entry.Purpose, Hint(entry.AccountKey), entry.Attempts);
            marked++;
        }

        return new OutboxRecovery(marked, dropped);
    }

    private async Task MarkAfterFailureAsync(PendingMail mail, string accountHint, CancellationToken cancellationToken)
    {
        try
        {
            await outbox.AddAsync(mail.MarkerKey, cancellationToken);
        }
        catch (Exception exception) when (exception is Azure.RequestFailedException or TimeoutException or OperationCanceledException)
        {
            // Storage failed too: the hourly recovery finds the row without its marker and writes it then.
            if (logger.IsEnabled(LogLevel.Warning))
            {
                LogMarkFailed(logger, accountHint, exception.GetType().Name);
            }
        }
    }

    private static TimeSpan Backoff(int attempts) =>
        TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, TimeSpan.FromMinutes(1).Ticks << Math.Min(attempts, 10)));

    // Enough of the account key to follow one account through the logs; not the email, and not reversible.
    private static string Hint(string accountKey) => accountKey[..8];

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent {Purpose} mail for account {AccountHint}")]
    private static partial void LogSent(ILogger logger, MailPurpose purpose, string accountHint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending {Purpose} mail for account {AccountHint} failed ({ErrorType}); the outbox keeps it (trace {TraceId})")]
    private static partial void LogSendFailed(ILogger logger, MailPurpose purpose, string accountHint, string errorType, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox row of account {AccountHint} not removed after sending ({ErrorType})")]
    private static partial void LogCleanupFailed(ILogger logger, string accountHint, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marker of the outbox row of account {AccountHint} not written after its send failed ({ErrorType}); the hourly recovery writes it")]
    private static partial void LogMarkFailed(ILogger logger, string accountHint, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox row of {Purpose} mail for account {AccountHint} found without a drainer (attempts {Attempts}); marked again for sending")]
    private static partial void LogMarkedAgain(ILogger logger, MailPurpose purpose, string accountHint, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox row of {Purpose} mail for account {AccountHint} found without a drainer and past its use (attempts {Attempts}, stored {CreatedAt:o}); deleted unsent")]
    private static partial void LogDropped(ILogger logger, MailPurpose purpose, string accountHint, int attempts, DateTime createdAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up on {Purpose} mail for account {AccountHint} after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, MailPurpose purpose, string accountHint, int attempts);
}

/// <summary>What one recovery did: outbox rows marked again for the drainer, and rows past their use deleted unsent.</summary>
public sealed record OutboxRecovery(int Marked, int Dropped);

/// <summary>docs/api.md's token lifetimes.</summary>
public static class MailTokens
{
    public static readonly TimeSpan VerificationLifetime = TimeSpan.FromHours(24);
    public static readonly TimeSpan ResetLifetime = TimeSpan.FromMinutes(30);

    public static TimeSpan LifetimeOf(MailPurpose purpose) => purpose == MailPurpose.Reset ? ResetLifetime : VerificationLifetime;
}
