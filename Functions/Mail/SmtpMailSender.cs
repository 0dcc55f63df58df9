using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Serverless.Functions.Mail;

/// <summary>SMTP through MailKit: locally the development mail server (smtp4dev) that the run script and the tests start.</summary>
public sealed class SmtpMailSender(MailOptions options) : IMailSender
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public async Task SendAsync(MailMessage message, CancellationToken cancellationToken)
    {
        var smtp = options.Smtp ?? throw new InvalidOperationException("SMTP is not configured.");
        var mime = new MimeMessage();
        mime.From.Add(new MailboxAddress(options.ProductName, options.SenderAddress));
        mime.To.Add(MailboxAddress.Parse(message.To));
        mime.Subject = message.Subject;
        mime.Body = new BodyBuilder { TextBody = message.PlainText, HtmlBody = message.Html }.ToMessageBody();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var client = new SmtpClient { Timeout = (int)Timeout.TotalMilliseconds };
        await client.ConnectAsync(smtp.Host, smtp.Port, SecureSocketOptions.StartTlsWhenAvailable, timeout.Token);
        await client.SendAsync(mime, timeout.Token);
        await client.DisconnectAsync(quit: true, timeout.Token);
    }
}
