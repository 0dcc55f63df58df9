using Microsoft.Azure.Functions.Worker;

namespace Serverless.Functions.Mail;

/// <summary>
/// Sends the mails a request could not (mail server down, a crash after the token was stored), on the schedule in the
/// app setting <c>MailOutboxSchedule</c> (NCRONTAB, e.g. every minute: <c>0 */1 * * * *</c>).
/// </summary>
public sealed class MailOutboxFunction(MailDelivery delivery)
{
    public const string ScheduleSetting = "MailOutboxSchedule";

    [Function("MailOutbox")]
    public Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken) =>
        delivery.DrainAsync(cancellationToken);
}
