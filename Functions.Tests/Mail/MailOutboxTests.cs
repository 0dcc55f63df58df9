using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Mail;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>
/// Nothing is lost: a mail whose request could not send it (mail server down, or the process gone right after the token
/// was stored: storage holds the same rows either way) is sent by the outbox drainer, the timer's work.
/// </summary>
public sealed class MailOutboxTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;
    private Smtp4devServer mail = null!;

    public async ValueTask InitializeAsync()
    {
        mail = await Smtp4devServer.GetAsync();
        // TestApp's default settings point SMTP at a port where nothing listens: every request's own send fails.
        app = TestApp.Create(azurite.ConnectionString, configureServices: services => services.AddSingleton<TimeProvider>(clock));
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    /// <summary>The drainer as the timer runs it, over the app's tables, with a mail server that is up again.</summary>
    private MailDelivery DrainerWithMailServer()
    {
        var options = app.Services.GetRequiredService<MailOptions>() with { Smtp = new SmtpSettings("127.0.0.1", mail.SmtpPort) };
        return new MailDelivery(app.Services.GetRequiredService<MailStore>(), app.Services.GetRequiredService<OutboxStore>(),
            new SmtpMailSender(options), new MailContent(options), clock, NullLogger<MailDelivery>.Instance);
    }

    [Fact]
    public async Task A_signup_whose_mail_could_not_be_sent_still_gets_a_working_mail_from_the_drainer()
    {
        var user = await app.NewUserAsync("crash");
        await app.MailsSentAsync();
        Assert.Empty(await mail.MailsToAsync(user.Email, "Confirm your email"));
        var drainer = DrainerWithMailServer();

        // Within the grace period the request may still be sending: the drainer leaves the mail alone.
        Assert.Equal(0, await drainer.DrainAsync(CancellationToken.None));
        clock.Advance(MailDelivery.DrainGrace + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await drainer.DrainAsync(CancellationToken.None));

        var token = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");
        Assert.Equal(204, (await app.VerifyEmailAsync(token)).Status);
        Assert.Equal(0, await drainer.DrainAsync(CancellationToken.None));
        Assert.Single(await mail.MailsToAsync(user.Email, "Confirm your email"));
        Assert.Empty(await RowsAsync(AppTables.Outbox));
        Assert.DoesNotContain(await RowsAsync(AppTables.Users), row => row.RowKey.StartsWith(MailStore.OutboxPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_drain_keeps_the_mail_and_backs_off_before_the_next_attempt()
    {
        var user = await app.NewUserAsync("down");
        await app.MailsSentAsync();
        clock.Advance(MailDelivery.DrainGrace + TimeSpan.FromSeconds(1));
        var stillDown = app.Services.GetRequiredService<MailDelivery>();

        Assert.Equal(0, await stillDown.DrainAsync(CancellationToken.None));
        Assert.Single(await RowsAsync(AppTables.Outbox), row => row.GetString("AccountKey") == AccountKeyOf(user));

        // The attempt was counted and the next one waits: a drainer with a working server right away sends nothing.
        var drainer = DrainerWithMailServer();
        Assert.Equal(0, await drainer.DrainAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await drainer.DrainAsync(CancellationToken.None));
        Assert.Single(await mail.MailsToAsync(user.Email, "Confirm your email"));
    }

    [Fact]
    public async Task A_mail_whose_token_was_already_spent_is_dropped_not_sent()
    {
        var smtpApp = TestApp.Create(azurite.ConnectionString, mail.Settings, services => services.AddSingleton<TimeProvider>(clock));
        await using (smtpApp)
        {
            var user = await smtpApp.NewUserAsync("spent");
            var token = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");
            Assert.Equal(204, (await smtpApp.VerifyEmailAsync(token)).Status);
            clock.Advance(MailDelivery.DrainGrace + TimeSpan.FromSeconds(1));

            Assert.Equal(0, await smtpApp.Services.GetRequiredService<MailDelivery>().DrainAsync(CancellationToken.None));
            Assert.Single(await mail.MailsToAsync(user.Email, "Confirm your email"));
            Assert.Empty(await smtpApp.Table(AppTables.Outbox).QueryAsync<TableEntity>().ToListAsync());
        }
    }

    [Fact]
    public async Task An_outbox_row_whose_marker_was_lost_is_marked_again_by_the_cleanup_and_its_mail_sent_once()
    {
        // The signup's send failed and wrote the marker; then the marker is lost (its write failed, the process died before
        // it, or a drainer deleted it before the batch landed): storage holds an outbox row that no marker leads to.
        var user = await app.NewUserAsync("lost");
        await DeleteMarkersAsync();
        var drainer = DrainerWithMailServer();
        clock.Advance(MailDelivery.RecoverAfter + TimeSpan.FromSeconds(1));
        Assert.Equal(0, await drainer.DrainAsync(CancellationToken.None));

        var report = await Cleanup().RunAsync(CancellationToken.None);

        Assert.Equal(1, report.OutboxMarked);
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains("marked again for sending", StringComparison.Ordinal));
        Assert.Equal(1, await drainer.DrainAsync(CancellationToken.None));
        var token = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");
        Assert.Equal(204, (await app.VerifyEmailAsync(token)).Status);
        clock.Advance(MailDelivery.RecoverAfter + TimeSpan.FromHours(2));
        Assert.Equal(0, (await Cleanup().RunAsync(CancellationToken.None)).OutboxMarked);
        Assert.Equal(0, await drainer.DrainAsync(CancellationToken.None));
        Assert.Single(await mail.MailsToAsync(user.Email, "Confirm your email"));
        Assert.Empty(await RowsAsync(AppTables.Outbox));
        Assert.DoesNotContain(await RowsAsync(AppTables.Users), row => row.RowKey.StartsWith(MailStore.OutboxPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_outbox_row_without_a_marker_past_its_tokens_expiry_is_deleted_unsent_with_a_log_line()
    {
        var user = await app.NewUserAsync("expired");
        await DeleteMarkersAsync();
        clock.Advance(MailTokens.VerificationLifetime + TimeSpan.FromMinutes(1));

        var report = await Cleanup().RunAsync(CancellationToken.None);

        Assert.Equal(0, report.OutboxMarked);
        Assert.Equal(1, report.DeletedByKind[Functions.Cleanup.ExpiredRowsCleanup.StuckOutbox.Kind]);
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains("past its use", StringComparison.Ordinal)
            && entry.Message.Contains(AccountKeyOf(user)[..8], StringComparison.Ordinal));
        Assert.Equal(0, await DrainerWithMailServer().DrainAsync(CancellationToken.None));
        Assert.Empty(await mail.MailsToAsync(user.Email, "Confirm your email"));
        Assert.Empty(await RowsAsync(AppTables.Outbox));
        Assert.DoesNotContain(await RowsAsync(AppTables.Users), row => row.PartitionKey == AccountKeyOf(user)
            && (row.RowKey.StartsWith(MailStore.OutboxPrefix, StringComparison.Ordinal) || row.RowKey.StartsWith(MailToken.RowKeyPrefixAll, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_stuck_row_that_still_has_its_marker_gets_no_second_one_and_two_drainers_at_once_send_it_once()
    {
        // The marker is there, but no drainer ran for a while (the timer was down): the recovery finds the row stuck.
        var user = await app.NewUserAsync("marked");
        var marker = Assert.Single(await RowsAsync(AppTables.Outbox));
        clock.Advance(MailDelivery.RecoverAfter + TimeSpan.FromSeconds(1));

        Assert.Equal(1, (await Cleanup().RunAsync(CancellationToken.None)).OutboxMarked);

        // The row's one marker key: the recovery's insert met the marker already there.
        Assert.Equal(marker.RowKey, Assert.Single(await RowsAsync(AppTables.Outbox)).RowKey);
        var sent = await Task.WhenAll(
            Task.Run(() => DrainerWithMailServer().DrainAsync(CancellationToken.None)),
            Task.Run(() => DrainerWithMailServer().DrainAsync(CancellationToken.None)));
        Assert.Equal(1, sent.Sum());
        await mail.WaitForMailAsync(user.Email, "Confirm your email");
        Assert.Single(await mail.MailsToAsync(user.Email, "Confirm your email"));
        Assert.Empty(await RowsAsync(AppTables.Outbox));
    }

    private Functions.Cleanup.ExpiredRowsCleanup Cleanup() => app.Services.GetRequiredService<Functions.Cleanup.ExpiredRowsCleanup>();

    private async Task DeleteMarkersAsync()
    {
        var outbox = app.Table(AppTables.Outbox);
        foreach (var row in await RowsAsync(AppTables.Outbox))
        {
            await outbox.DeleteEntityAsync(row.PartitionKey, row.RowKey, cancellationToken: CancellationToken.None);
        }

        Assert.Empty(await RowsAsync(AppTables.Outbox));
    }

    private string AccountKeyOf(SignedInUser user) => app.AccountKey(user.Email);

    private async Task<List<TableEntity>> RowsAsync(string table) => await app.Table(table).QueryAsync<TableEntity>().ToListAsync();
}
