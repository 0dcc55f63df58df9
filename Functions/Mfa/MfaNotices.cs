using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Mail;

namespace Serverless.Functions.Mfa;

/// <summary>
/// The security mails of two-step sign-in ("turned on", "turned off", "new recovery codes") through the mail outbox: the
/// mail's rows go in the batch of the change itself (no change without its notice), and it is sent after the answer. Kept
/// to this one class so it can move onto the general security mails of the account settings.
/// </summary>
public sealed class MfaNotices(MailDelivery delivery, TimeProvider clock)
{
    /// <summary>A notice for the account's address: its outbox marker is stored now, its rows are for the change's batch.</summary>
    public async Task<(PendingMail Mail, IReadOnlyList<TableTransactionAction> Rows)> PrepareAsync(MailPurpose purpose, UserRecord user, CancellationToken cancellationToken)
    {
        var mail = await delivery.PrepareAsync(purpose, user.AccountKey, user.Email, cancellationToken);
        return (mail, [.. MailStore.RowsOf(mail, clock.GetUtcNow().UtcDateTime).Select(row => new TableTransactionAction(TableTransactionActionType.Add, row))]);
    }

    /// <summary>Once the change's batch landed.</summary>
    public void Send(PendingMail mail) => delivery.SendInBackground(mail);
}
