using Serverless.Functions.Accounts;

namespace Serverless.Functions.Mail;

public sealed record VerifyEmailRequest(string? Token);

public sealed record PasswordResetRequest(string? Email);

public sealed record PasswordResetConfirmRequest(string? Token, string? NewPassword);

/// <summary>The body of every 202 of the mail routes: the same whatever happened, so it tells nothing.</summary>
public sealed record MailAccepted(string Status, string Detail);

/// <summary>What a mail operation came to; the functions map each case to its HTTP answer.</summary>
public abstract record MailOutcome
{
    public sealed record Accepted(string Detail) : MailOutcome;

    public sealed record Verified : MailOutcome;

    /// <summary>The password is reset; the answer is the sign-in's (a session, or the mfaRequired answer when two-step sign-in is on).</summary>
    public sealed record PasswordReset(AccountOutcome SignIn) : MailOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : MailOutcome;

    public sealed record BadToken : MailOutcome;

    public sealed record TooSoon(TimeSpan RetryAfter, string Detail) : MailOutcome;

    public sealed record AccountGone : MailOutcome;
}
