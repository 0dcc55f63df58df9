using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Mfa;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Performance;

/// <summary>Two-step sign-in's storage requests: the password step stays in the login budget, the second step costs three.</summary>
public sealed partial class StorageCostTests
{
    [Fact]
    public async Task A_sign_in_with_two_step_on_costs_the_login_budget_then_three_requests_the_query_the_reservation_and_one_batch()
    {
        var user = await app.NewUserAsync("mfa-cost");
        var enrolled = await app.EnrolAsync(user);
        var secret = MfaFlows.FromBase32(enrolled.Json.GetProperty("secret").GetString()!);
        Assert.Equal(200, (await app.ConfirmTotpAsync(user, MfaFlows.CodeAt(secret, DateTimeOffset.UtcNow))).Status);

        var (started, password) = await MeasureAsync(() => app.LoginAsync(user.Email));
        // The next step's code (accepted: one step ahead is in the window), as the confirm used this one.
        var (finished, second) = await MeasureAsync(() => app.FinishWithCodeAsync(MfaFlows.MfaTokenOf(started), MfaFlows.CodeAt(secret, DateTimeOffset.UtcNow.AddSeconds(30))));

        Assert.True(MfaFlows.IsSession(finished), finished.ToString());
        // The password step: as a clean login, the query (account, throttle), the reservation, and one batch, which holds the
        // mfa token instead of the session (the reservation stays until the second step).
        Assert.Equal(3, password.Count);
        Assert.True(password[0].IsSinglePartitionQuery && password[0].Path.Contains(AppTables.Users, StringComparison.Ordinal), password[0].ToString());
        Assert.True(password[1].IsInsert, password[1].ToString());
        Assert.True(password[2].IsEntityGroupTransaction, password[2].ToString());
        // The second step: one query of the account's partition (account, settings, token, throttle), the code's reservation
        // (made before the code is compared), and one batch: the token spent, the step recorded, the throttle cleared, the session.
        Assert.Equal(3, second.Count);
        Assert.True(second[0].IsSinglePartitionQuery && second[0].Path.Contains(AppTables.Users, StringComparison.Ordinal), second[0].ToString());
        Assert.Contains("mfa-totp", second[0].Filter, StringComparison.Ordinal);
        Assert.True(second[1].IsPointOperation && second[1].Method == "PUT", second[1].ToString());
        Assert.True(second[2].IsEntityGroupTransaction, second[2].ToString());
        AssertPartitionScoped([.. password, .. second]);
    }
}
