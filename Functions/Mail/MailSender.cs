namespace Serverless.Functions.Mail;

/// <summary>One mail with its two parts; links and all text already in it.</summary>
public sealed record MailMessage(string To, string Subject, string PlainText, string Html);

/// <summary>Hands a mail to the mail service; throws when it could not (the outbox retries later).</summary>
public interface IMailSender
{
    Task SendAsync(MailMessage message, CancellationToken cancellationToken);
}
