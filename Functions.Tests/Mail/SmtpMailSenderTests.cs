using Serverless.Functions.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>The SMTP sender against the real development mail server: both parts arrive as sent.</summary>
public sealed class SmtpMailSenderTests
{
    [Fact]
    public async Task A_mail_sent_over_smtp_arrives_in_smtp4dev_with_both_parts()
    {
        var mail = await Smtp4devServer.GetAsync();
        var to = AccountsTestExtensions.UniqueEmail("smtp");
        var sender = new SmtpMailSender(new MailOptions
        {
            PageOrigin = new Uri("https://page.example"),
            SenderAddress = "noreply@serverless.example",
            Smtp = new SmtpSettings("127.0.0.1", mail.SmtpPort),
        });

        await sender.SendAsync(new MailMessage(to, "Plain and HTML", "the plain part", "<p>the html part</p>"), CancellationToken.None);

        var delivered = await mail.WaitForMailAsync(to, "Plain and HTML");
        Assert.Contains("the plain part", delivered.PlainText, StringComparison.Ordinal);
        Assert.Contains("<p>the html part</p>", delivered.Html, StringComparison.Ordinal);
        Assert.Equal("noreply@serverless.example", delivered.From);
    }
}
