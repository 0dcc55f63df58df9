using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Passkeys;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Performance;

/// <summary>The passkey ceremonies' storage requests, counted as the other operations' are.</summary>
public sealed partial class StorageCostTests
{
    [Fact]
    public async Task A_passkey_sign_in_stays_in_the_login_budget_one_delete_one_query_one_batch()
    {
        var user = await app.NewUserAsync("passkey-cost");
        using var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);

        var (optionsResponse, options) = await MeasureAsync(() => app.SendAsync("POST", "/api/auth/passkey/options"));
        var (signedIn, signIn) = await MeasureAsync(() => app.SendSignInAsync(authenticator.Get(optionsResponse.Json, PasskeyFlows.Origin)));

        Assert.Equal(200, signedIn.Status);
        // The options: the client address's ceremony count, the challenge's insert.
        Assert.Equal(2, options.Count);
        Assert.Contains(AppTables.ClientLimits, options[0].Path, StringComparison.Ordinal);
        Assert.True(options[1].IsInsert && options[1].Path.Contains(AppTables.PasskeyChallenges, StringComparison.Ordinal), options[1].ToString());
        // The sign-in: the challenge used up by a point delete; the account row and the credential row (the user handle
        // names the partition, the credential id's hash the row) in one single-partition query; the counter (If-Match) and
        // the session in one batch.
        Assert.Equal(3, signIn.Count);
        Assert.True(signIn[0].Method == "DELETE" && signIn[0].IsPointOperation && signIn[0].Path.Contains(AppTables.PasskeyChallenges, StringComparison.Ordinal), signIn[0].ToString());
        Assert.True(signIn[1].IsSinglePartitionQuery && signIn[1].Path.Contains(AppTables.Users, StringComparison.Ordinal), signIn[1].ToString());
        Assert.Contains("passkey-" + authenticator.PasskeyId, signIn[1].Filter, StringComparison.Ordinal);
        Assert.True(signIn[2].IsEntityGroupTransaction, signIn[2].ToString());
        AssertPartitionScoped([.. options, .. signIn]);
    }

    [Fact]
    public async Task A_passkey_registration_costs_two_requests_for_the_options_and_four_for_the_answer()
    {
        var user = await app.NewUserAsync("register-cost");
        using var authenticator = new SoftwareAuthenticator();

        var (optionsResponse, options) = await MeasureAsync(() => app.SendAsync("POST", "/api/me/passkeys/options", bearer: user.AccessToken));
        var (registered, registration) = await MeasureAsync(() => app.SendRegistrationAsync(user.AccessToken, authenticator.Create(optionsResponse.Json, PasskeyFlows.Origin)));

        Assert.Equal(201, registered.Status);
        // The options: one query of the account's partition (its row and its passkeys, to exclude them), the challenge's insert.
        Assert.Equal(2, options.Count);
        Assert.True(options[0].IsSinglePartitionQuery, options[0].ToString());
        Assert.True(options[1].IsInsert, options[1].ToString());
        // The answer: the challenge read (its options) and used up (delete), the credential id claimed (insert into
        // PasskeyIds: a duplicate is refused race-free), then one batch: the account touched (If-Match *) and the passkey inserted.
        Assert.Equal(4, registration.Count);
        Assert.True(registration[0].IsPointOperation && registration[0].Method == "GET", registration[0].ToString());
        Assert.True(registration[1].IsPointOperation && registration[1].Method == "DELETE", registration[1].ToString());
        Assert.True(registration[2].IsInsert && registration[2].Path.Contains(AppTables.PasskeyIds, StringComparison.Ordinal), registration[2].ToString());
        Assert.True(registration[3].IsEntityGroupTransaction, registration[3].ToString());
        AssertPartitionScoped([.. options, .. registration]);
    }

    [Fact]
    public async Task A_passkey_signup_costs_three_requests_for_the_options_and_six_for_the_account()
    {
        using var authenticator = new SoftwareAuthenticator();
        var email = AccountsTestExtensions.UniqueEmail("signup-cost");

        var (optionsResponse, options) = await MeasureAsync(() => app.PostJsonAsync("/api/auth/signup/passkey/options", new { email }));
        var (signedUp, signup) = await MeasureAsync(() => app.SendSignupAsync(authenticator.Create(optionsResponse.Json, PasskeyFlows.Origin)));

        Assert.Equal(201, signedUp.Status);
        // The options: the address's ceremony count, a point read of the account row (a taken email is told now), the challenge.
        Assert.Equal(3, options.Count);
        Assert.True(options[1].IsPointOperation, options[1].ToString());
        // The signup: the challenge read and deleted, the address's signup count, the credential id's claim, then as the
        // password signup: the owner marker and one batch (account, passkey, session, mail rows; no Outbox marker up front).
        Assert.Equal(6, signup.Count);
        Assert.True(signup[^1].IsEntityGroupTransaction, signup[^1].ToString());
        AssertPartitionScoped([.. options, .. signup.Where(request => !request.Path.Contains(AppTables.ClientLimits, StringComparison.Ordinal))]);
    }

    [Fact]
    public async Task Listing_passkeys_costs_one_query_and_deleting_one_four_requests()
    {
        var user = await app.NewUserAsync("list-cost");
        using var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);

        var (listed, list) = await MeasureAsync(() => app.GetAsync("/api/me/passkeys", user.AccessToken));
        var (deleted, deletion) = await MeasureAsync(() => app.SendAsync("DELETE", "/api/me/passkeys/" + authenticator.PasskeyId, bearer: user.AccessToken));

        Assert.Equal(200, listed.Status);
        Assert.Equal(204, deleted.Status);
        Assert.True(Assert.Single(list).IsSinglePartitionQuery);
        // The account and its passkeys (one query), one batch (the account row under its ETag, the passkey deleted), then the
        // credential id's claim released: its point read (still this account's?) and delete.
        Assert.Equal(4, deletion.Count);
        Assert.True(deletion[1].IsEntityGroupTransaction, deletion[1].ToString());
        AssertPartitionScoped([.. list, .. deletion]);
    }
}
