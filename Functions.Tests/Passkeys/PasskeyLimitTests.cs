using System.Text.Json;
using Azure.Data.Tables;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>
/// The per-address limits on the anonymous passkey routes, played by an attacker from one address, in parallel: at most
/// the limit gets through, whatever the concurrency, and another address is not affected.
/// </summary>
public sealed class PasskeyLimitTests(AzuriteFixture azurite)
{
    private const string Attacker = "203.0.113.80";

    private static System.Net.IPAddress From(string address) => TestApp.Client(address);

    [Fact]
    public async Task Twenty_parallel_sign_in_options_from_one_address_store_at_most_the_limits_challenges()
    {
        await using var app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Limits:PasskeyCeremoniesPerClientPerHour"] = "3" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() =>
            app.SendAsync("POST", "/api/auth/passkey/options", from: From(Attacker)))));
        var elsewhere = await app.SendAsync("POST", "/api/auth/passkey/options", from: From("203.0.113.81"));

        Assert.All(answers, answer => Assert.True(answer.Status is 200 or 429, answer.ToString()));
        Assert.InRange(answers.Count(answer => answer.Status == 200), 1, 3);
        Assert.All(answers.Where(answer => answer.Status == 429), answer => Assert.NotNull(answer.Header("Retry-After")));
        Assert.Equal(200, elsewhere.Status);
        var stored = await app.Table(AppTables.PasskeyChallenges).QueryAsync<TableEntity>(cancellationToken: TestContext.Current.CancellationToken)
            .CountAsync(TestContext.Current.CancellationToken);
        Assert.Equal(answers.Count(answer => answer.Status == 200) + 1, stored);
    }

    [Fact]
    public async Task Signup_options_share_the_ceremony_limit_and_passkey_signups_share_the_signup_limit_under_concurrency()
    {
        await using var app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
        {
            ["Limits:PasskeyCeremoniesPerClientPerHour"] = "10",
            ["Limits:SignupsPerClientPerHour"] = "2",
        });
        var authenticators = Enumerable.Range(0, 10).Select(_ => new SoftwareAuthenticator()).ToList();
        try
        {
            // Ten ceremonies (options, from the address's quota of 10), then ten signups at once with a quota of 2.
            var options = new List<JsonElement>();
            foreach (var _ in authenticators)
            {
                var response = await app.SendAsync("POST", "/api/auth/signup/passkey/options",
                    JsonSerializer.Serialize(new { email = AccountsTestExtensions.UniqueEmail("limited") }), "application/json", from: From(Attacker));
                Assert.Equal(200, response.Status);
                options.Add(response.Json);
            }

            var eleventh = await app.SendAsync("POST", "/api/auth/passkey/options", from: From(Attacker));
            var signups = await Task.WhenAll(authenticators.Select((authenticator, i) => Task.Run(() => app.SendAsync("POST", "/api/auth/signup/passkey",
                JsonSerializer.Serialize(new { credential = authenticator.Create(options[i], PasskeyFlows.Origin) }), "application/json", from: From(Attacker)))));

            Assert.Equal(429, eleventh.Status);
            Assert.All(signups, answer => Assert.True(answer.Status is 201 or 429, answer.ToString()));
            Assert.InRange(signups.Count(answer => answer.Status == 201), 1, 2);
        }
        finally
        {
            authenticators.ForEach(a => a.Dispose());
        }
    }

    [Fact]
    public async Task Failed_passkey_sign_ins_count_as_failed_logins_of_the_address()
    {
        await using var app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Limits:FailedLoginsPerClientPerHour"] = "3" });
        using var stranger = new SoftwareAuthenticator { UserHandle = new byte[32] };

        var answers = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            var options = (await app.SendAsync("POST", "/api/auth/passkey/options", from: From("203.0.113.90"))).Json;
            answers.Add((await app.SendAsync("POST", "/api/auth/passkey",
                JsonSerializer.Serialize(new { credential = stranger.Get(options, PasskeyFlows.Origin) }), "application/json", from: From(Attacker))).Status);
        }

        Assert.Equal([401, 401, 401, 429, 429], answers);
    }
}
