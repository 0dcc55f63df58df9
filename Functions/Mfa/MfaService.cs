using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Passkeys;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Mfa;

/// <summary>
/// Two-step sign-in (docs/mfa.md): enrolment and its confirm, the sign-in's second step, turning it off and new recovery
/// codes. Every code or recovery code is checked as a password is: one of the account's login attempts is reserved
/// (<see cref="LoginThrottle"/>, the same row and budget) before it is compared, so guesses in parallel get no more
/// comparisons than in a row, and a wrong one counts toward the login throttle like a wrong password.
/// </summary>
public sealed partial class MfaService(
    MfaStore store,
    TotpCodes codes,
    TotpSecretProtector protector,
    LoginThrottle throttle,
    AccountService accounts,
    PasskeyService passkeys,
    SessionService sessions,
    SessionStore sessionStore,
    MfaNotices notices,
    AppMetrics metrics,
    TimeProvider clock,
    ILogger<MfaService> logger)
{
    // As CredentialCheck's: a lost reservation race is tried again on the row as it now stands.
    private const int MaxReservationAttempts = 20;
    private const int MaxBackoffMilliseconds = 20;

    public async Task<MfaOutcome> EnrolAsync(Caller caller, MfaProofRequest request, CancellationToken cancellationToken)
    {
        var (user, failure) = await ProveAsync(caller, request, cancellationToken);
        if (user is null)
        {
            return failure!;
        }

        if (user.MfaEnabled)
        {
            return new MfaOutcome.AlreadyOn();
        }

        var secret = TotpCodes.NewSecret();
        await store.TrySubmitAsync(
            [MfaStore.PutPendingAction(user.AccountKey, protector.Protect(user.AccountKey, secret), Now() + MfaStore.PendingLifetime)], null, cancellationToken);
        var uri = codes.UriFor(secret, user.Email);
        return new MfaOutcome.Enrolled(new TotpEnrolment(TotpCodes.Base32(secret), uri, TotpCodes.QrSvg(uri)));
    }

    public async Task<MfaOutcome> ConfirmAsync(Caller caller, TotpConfirmRequest request, CancellationToken cancellationToken)
    {
        if (TotpCodes.Normalize(request.Code) is not { } code)
        {
            return Invalid("code", "Enter the 6-digit code your authenticator app shows.");
        }

        var (user, rows) = await store.ReadAsync(caller.AccountKey, [MfaStore.PendingRowKey], cancellationToken);
        if (user is null || user.Id != caller.UserId)
        {
            return new MfaOutcome.AccountGone();
        }

        if (user.MfaEnabled)
        {
            return new MfaOutcome.AlreadyOn();
        }

        if (MfaStore.PendingOf(rows) is not { } pending || pending.ExpiresAt <= Now()
            || protector.Unprotect(user.AccountKey, pending.ProtectedSecret) is not { } secret)
        {
            return Invalid("code", "Start the set-up again: it was not started, or it is more than 10 minutes old.");
        }

        if (codes.Match(secret, code, lastStep: 0) is not { } step)
        {
            return Invalid("code", "The code is not correct: check the authenticator app's time and try the current code.");
        }

        var recovery = RecoveryCodes.New();
        var hashes = recovery.Select(RecoveryCodes.HashOf).OfType<string>().ToList();
        var enable = MfaStore.EnableActions(user.AccountKey, pending, protector.Protect(user.AccountKey, secret), step, hashes, Now());
        if (!await CommitAsync(caller, user, MailPurpose.MfaOn, enable, cancellationToken))
        {
            return Invalid("code", "Start the set-up again: another request finished or replaced it.");
        }

        LogTurnedOn(logger, user.Id, TraceContext.CurrentTraceId);
        return new MfaOutcome.Codes(new RecoveryCodeList(recovery));
    }

    public async Task<MfaOutcome> DisableAsync(Caller caller, MfaProofRequest request, CancellationToken cancellationToken) =>
        await ChangeAsync(caller, request, MailPurpose.MfaOff, cancellationToken);

    public async Task<MfaOutcome> RenewRecoveryCodesAsync(Caller caller, MfaProofRequest request, CancellationToken cancellationToken) =>
        await ChangeAsync(caller, request, MailPurpose.MfaRecoveryCodes, cancellationToken);

    /// <summary>
    /// <c>POST /api/auth/login/mfa</c>: the token of the password sign-in and a code (or a recovery code) → the session. The
    /// token, the code's step (or the recovery code) and the throttle's clear go in the session's batch, each under the ETag
    /// it was read with: of any number of requests with one token, or one code, exactly one gets a session.
    /// </summary>
    public async Task<MfaOutcome> FinishSignInAsync(MfaLoginRequest request, string? userAgent, CancellationToken cancellationToken)
    {
        if (SecondFactorProblem(request.Code, request.RecoveryCode, "mfaToken", request.MfaToken) is { } invalid)
        {
            return invalid;
        }

        if (MfaToken.TryParse(request.MfaToken) is not { } token)
        {
            return new MfaOutcome.Refused();
        }

        var (user, rows) = await store.ReadAsync(token.AccountKey, [MfaStore.TotpRowKey, token.RowKey, LoginThrottleStore.RowKey], cancellationToken);
        if (user is null || MfaStore.TokenOf(rows, token.RowKey) is not { } stored || stored.ExpiresAt <= Now()
            || stored.PasswordStamp != SignInCompletion.PasswordStamp(user) || MfaStore.TotpOf(rows) is not { } state)
        {
            LogSecondStepRefused(logger, AccountKeys.Hint(token.AccountKey), TraceContext.CurrentTraceId);
            return new MfaOutcome.Refused();
        }

        switch (await CheckSecondFactorAsync(user.AccountKey, state, ThrottleOf(rows), request.Code, request.RecoveryCode, cancellationToken))
        {
            case FactorCheck.Accepted { State: var next, Reservation: var reserved }:
                var opened = sessions.Open(AccountService.ViewOf(user), user.AccountKey, userAgent);
                if (!await store.TrySubmitAsync(
                        [MfaStore.SpendTokenAction(user.AccountKey, stored), MfaStore.UpdateTotpAction(user.AccountKey, next), SessionStore.InsertAction(opened.Row)],
                        LoginThrottleStore.ClearAction(user.AccountKey, reserved), cancellationToken))
                {
                    // A parallel request spent the token, or used this code or recovery code, first.
                    return new MfaOutcome.Refused();
                }

                LogSignedIn(logger, user.Id, TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Success);
                return new MfaOutcome.SignIn(new AccountOutcome.SignedIn(opened.Answer));
            case FactorCheck.Over over:
                return over.Outcome;
            default:
                LogSecondStepRefused(logger, AccountKeys.Hint(user.AccountKey), TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Failure);
                return new MfaOutcome.Refused();
        }
    }

    // Turning it off, or new recovery codes: the proof, then a current code or a recovery code, then one batch with the
    // notice's rows that ends the other sessions.
    private async Task<MfaOutcome> ChangeAsync(Caller caller, MfaProofRequest request, MailPurpose purpose, CancellationToken cancellationToken)
    {
        if (SecondFactorProblem(request.Code, request.RecoveryCode) is { } invalid)
        {
            return invalid;
        }

        if ((await ProveAsync(caller, request, cancellationToken)).Failure is { } failure)
        {
            return failure;
        }

        var (user, rows) = await store.ReadAsync(caller.AccountKey, [MfaStore.TotpRowKey, LoginThrottleStore.RowKey], cancellationToken);
        if (user is null || user.Id != caller.UserId)
        {
            return new MfaOutcome.AccountGone();
        }

        if (MfaStore.TotpOf(rows) is not { } state)
        {
            return new MfaOutcome.NotOn();
        }

        switch (await CheckSecondFactorAsync(user.AccountKey, state, ThrottleOf(rows), request.Code, request.RecoveryCode, cancellationToken))
        {
            case FactorCheck.Accepted { State: var next }:
                var renewed = purpose == MailPurpose.MfaRecoveryCodes ? RecoveryCodes.New() : [];
                IReadOnlyList<TableTransactionAction> change = purpose == MailPurpose.MfaOff
                    ? MfaStore.DisableActions(user.AccountKey, state)
                    : [MfaStore.UpdateTotpAction(user.AccountKey, next with { RecoveryHashes = [.. renewed.Select(RecoveryCodes.HashOf).OfType<string>()] })];
                if (!await CommitAsync(caller, user, purpose, change, cancellationToken))
                {
                    return Invalid(request.RecoveryCode is null ? "code" : "recoveryCode", "That code was used meanwhile by another request: try the next one.");
                }

                LogChanged(logger, user.Id, purpose, TraceContext.CurrentTraceId);
                return purpose == MailPurpose.MfaOff ? new MfaOutcome.Disabled() : new MfaOutcome.Codes(new RecoveryCodeList(renewed));
            case FactorCheck.Over { Outcome: MfaOutcome.SignIn { Outcome: AccountOutcome.Throttled throttled } }:
                return new MfaOutcome.Throttled(throttled.RetryAfter);
            case FactorCheck.Over { Outcome: MfaOutcome.SignIn { Outcome: AccountOutcome.Busy busy } }:
                return new MfaOutcome.Busy(busy.RetryAfter);
            default:
                return request.RecoveryCode is null
                    ? Invalid("code", "The code is not correct.")
                    : Invalid("recoveryCode", "The recovery code is not correct, or was used already.");
        }
    }

    // The change, the notice's rows and the end of every other session in one batch; false when the change lost a race.
    private async Task<bool> CommitAsync(Caller caller, UserRecord user, MailPurpose purpose, IReadOnlyList<TableTransactionAction> change,
        CancellationToken cancellationToken)
    {
        var (mail, mailRows) = await notices.PrepareAsync(purpose, user, cancellationToken);
        if (await sessionStore.EndAllAsync(user.AccountKey, [.. change, .. mailRows], cancellationToken, keep: caller.SessionId) is null)
        {
            return false;
        }

        notices.Send(mail);
        return true;
    }

    /// <summary>
    /// Reserves one of the account's login attempts, then compares: the code with the secret (a step later than the last
    /// accepted), or the recovery code's hash with those left. Accepted: the settings row as it is to be written and the
    /// reservation to clear in the caller's batch. Nothing is compared without a reservation.
    /// </summary>
    private async Task<FactorCheck> CheckSecondFactorAsync(string accountKey, TotpState state, ThrottleState? read, string? code, string? recoveryCode,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxReservationAttempts; attempt++)
        {
            if (throttle.RetryAfter(read) is { } wait)
            {
                LogThrottled(logger, AccountKeys.Hint(accountKey), TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Throttled);
                return new FactorCheck.Over(new MfaOutcome.SignIn(new AccountOutcome.Throttled(wait)));
            }

            if (await throttle.TryReserveAsync(accountKey, read, cancellationToken) is { } reserved)
            {
                var failed = true;
                throttle.Started(accountKey);
                try
                {
                    if (Compare(accountKey, state, code, recoveryCode) is not { } next)
                    {
                        return new FactorCheck.Wrong();
                    }

                    failed = false;
                    return new FactorCheck.Accepted(next, reserved);
                }
                finally
                {
                    throttle.Ended(accountKey, failed);
                }
            }

            // Another request changed the row first: read it again, and refuse (busy) if a success cleared it meanwhile, so
            // a guess sent with the right code never starts on the fresh budget.
            await Task.Delay(Random.Shared.Next(1, Math.Min(2 << Math.Min(attempt, 4), MaxBackoffMilliseconds) + 1), cancellationToken);
            var before = read?.Attempts ?? 0;
            read = await throttle.ReadAsync(accountKey, cancellationToken);
            if ((read?.Attempts ?? 0) <= before)
            {
                return new FactorCheck.Over(new MfaOutcome.SignIn(new AccountOutcome.Busy(LoginThrottle.LostRace)));
            }
        }

        return new FactorCheck.Over(new MfaOutcome.SignIn(new AccountOutcome.Busy(LoginThrottle.LostRace)));
    }

    private TotpState? Compare(string accountKey, TotpState state, string? code, string? recoveryCode)
    {
        if (recoveryCode is not null)
        {
            var hash = RecoveryCodes.HashOf(recoveryCode);
            return hash is not null && state.RecoveryHashes.Contains(hash, StringComparer.Ordinal)
                ? state with { RecoveryHashes = [.. state.RecoveryHashes.Where(stored => stored != hash)] }
                : null;
        }

        var secret = protector.Unprotect(accountKey, state.ProtectedSecret)
            ?? throw new InvalidOperationException("An authenticator secret does not decrypt: is Auth__PreviousTotpSecretKey the key before the last rotation?");
        return codes.Match(secret, TotpCodes.Normalize(code)!, state.LastStep) is { } step
            ? state with
            {
                LastStep = step,
                // After a key rotation, each secret is encrypted again under the current key the next time it is used.
                ProtectedSecret = protector.NeedsRotation(state.ProtectedSecret) ? protector.Protect(accountKey, secret) : state.ProtectedSecret,
            }
            : null;
    }

    // The password (or passkey) again, checked as a login checks it: the account, or what to answer instead.
    private async Task<(UserRecord? User, MfaOutcome? Failure)> ProveAsync(Caller caller, MfaProofRequest request, CancellationToken cancellationToken)
    {
        var byPasskey = string.IsNullOrEmpty(request.Password) && request.PasskeyAssertion is { ValueKind: not System.Text.Json.JsonValueKind.Null };
        if (string.IsNullOrEmpty(request.Password) && !byPasskey)
        {
            return (null, Invalid("password", "Enter your password (or use a passkey)."));
        }

        var proof = byPasskey
            ? await passkeys.ReauthenticateAsync(caller, request.PasskeyAssertion!.Value, cancellationToken)
            : await accounts.ReauthenticateAsync(caller, request.Password!, cancellationToken);
        return proof switch
        {
            Reauthentication.Verified verified => (verified.User, null),
            Reauthentication.Throttled throttled => (null, new MfaOutcome.Throttled(throttled.RetryAfter)),
            Reauthentication.Busy busy => (null, new MfaOutcome.Busy(busy.RetryAfter)),
            Reauthentication.WrongPassword when byPasskey => (null, Invalid("passkeyAssertion",
                "The passkey was not accepted: use a passkey of this account, within 5 minutes of its challenge.")),
            Reauthentication.WrongPassword => (null, Invalid("password", "The password is incorrect.")),
            _ => (null, new MfaOutcome.AccountGone()),
        };
    }

    private static MfaOutcome.Invalid? SecondFactorProblem(string? code, string? recoveryCode, string? tokenField = null, string? token = "")
    {
        if (tokenField is not null && string.IsNullOrEmpty(token))
        {
            return Invalid(tokenField, "Send the mfaToken of the sign-in's first step.");
        }

        return (code, recoveryCode) switch
        {
            (null, null) => Invalid("code", "Enter the 6-digit code of your authenticator app, or a recovery code."),
            (not null, not null) => Invalid("code", "Send a code or a recovery code, not both."),
            (not null, _) when TotpCodes.Normalize(code) is null => Invalid("code", "Enter the 6 digits your authenticator app shows."),
            (_, not null) when RecoveryCodes.HashOf(recoveryCode) is null => Invalid("recoveryCode", "A recovery code has 16 letters and digits."),
            _ => null,
        };
    }

    private static ThrottleState? ThrottleOf(IReadOnlyDictionary<string, TableEntity> rows) =>
        rows.TryGetValue(LoginThrottleStore.RowKey, out var row) ? LoginThrottleStore.FromRow(row) : null;

    private static MfaOutcome.Invalid Invalid(string field, string message) => new(new Dictionary<string, string[]> { [field] = [message] });

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private abstract record FactorCheck
    {
        public sealed record Accepted(TotpState State, ThrottleState Reservation) : FactorCheck;

        public sealed record Wrong : FactorCheck;

        /// <summary>Nothing was compared: the budget is spent, or contention outlasted the tries.</summary>
        public sealed record Over(MfaOutcome Outcome) : FactorCheck;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} turned two-step sign-in on (trace {TraceId})")]
    private static partial void LogTurnedOn(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId}: two-step sign-in change {Change} (trace {TraceId})")]
    private static partial void LogChanged(ILogger logger, string userId, MailPurpose change, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} signed in with the second step (trace {TraceId})")]
    private static partial void LogSignedIn(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Second sign-in step refused for account {AccountHint} (trace {TraceId})")]
    private static partial void LogSecondStepRefused(ILogger logger, string accountHint, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Second sign-in step throttled for account {AccountHint} (trace {TraceId})")]
    private static partial void LogThrottled(ILogger logger, string accountHint, string? traceId);
}
