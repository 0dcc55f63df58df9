using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Mail;
using Serverless.Functions.Tests.Reliability;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mfa;

/// <summary>
/// A password reset decides between a session and the mfaRequired answer on the account row it read. Two-step sign-in
/// turned on between that read and the reset's batch must not let the reset sign in past it.
/// </summary>
public sealed class MfaResetRaceTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string NewPassword = "a completely new passphrase after the race";
    private TestApp app = null!;
    private Smtp4devServer mail = null!;
    private FakeTimeProvider clock = null!;
    private StorageFaultPolicy faults = null!;

    public async ValueTask InitializeAsync()
    {
        (app, mail, clock) = await MailTestApps.CreateAsync(azurite.ConnectionString, configureServices: services => StorageFaultPolicy.AddTo(services));
        faults = app.Services.GetRequiredService<StorageFaultPolicy>();
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task A_reset_confirm_whose_batch_meets_two_step_sign_in_just_turned_on_answers_mfa_required_and_opens_no_session()
    {
        var user = await app.NewUserAsync("reset-mfa-race");
        Assert.Equal(202, (await app.RequestResetAsync(user.Email)).Status);
        var resetToken = (await mail.WaitForMailAsync(user.Email, "Reset your")).Token("reset");
        byte[]? secret = null;

        // Just before the confirm's first batch is sent, the account's owner turns two-step sign-in on in another tab.
        var fault = StorageFault.BeforeSend("POST", StorageFault.Batch, async () => (secret, _) = await app.TurnOnAsync(user, clock));
        faults.Inject(fault);
        var confirmed = await app.ConfirmResetAsync(resetToken, NewPassword);
        faults.Clear();

        Assert.Equal(1, fault.Hits);
        Assert.Equal(200, confirmed.Status);
        Assert.False(MfaFlows.IsSession(confirmed), confirmed.ToString());
        var mfaToken = MfaFlows.MfaTokenOf(confirmed);
        Assert.Equal(0, await SessionCountAsync(user.Email));
        // The reset did land: the token is spent and the new password (with a code) signs in.
        Assert.Equal(400, (await app.ConfirmResetAsync(resetToken, NewPassword + " again")).Status);
        Assert.True(MfaFlows.IsSession(await app.FinishWithCodeAsync(mfaToken, MfaFlows.CodeNow(secret!, clock))));
    }

    private async Task<int> SessionCountAsync(string email)
    {
        var accountKey = app.AccountKey(email);
        var count = 0;
        await foreach (var _ in app.Table(AppTables.Users).QueryAsync<Azure.Data.Tables.TableEntity>(
            $"PartitionKey eq '{accountKey}' and RowKey gt '{SessionStore.RowKeyPrefix}' and RowKey lt 'session.'"))
        {
            count++;
        }

        return count;
    }
}
