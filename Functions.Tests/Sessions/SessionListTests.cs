using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Sessions;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Sessions;

public sealed class SessionListTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string FirefoxOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    private const string SafariOnIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<SignedInUser> LoginFromAsync(SignedInUser user, string userAgent)
    {
        var response = await app.SendAsync("POST", "/api/auth/login", JsonSerializer.Serialize(new { email = user.Email, password = AccountsTestExtensions.GoodPassword }),
            "application/json", headers: new Dictionary<string, string> { ["User-Agent"] = userAgent });
        Assert.True(response.Status == 200, response.ToString());
        return SignedInUser.From(user.Email, response.Json);
    }

    private async Task<List<JsonElement>> SessionsAsync(string accessToken)
    {
        var response = await app.GetAsync("/api/me/sessions", accessToken);
        Assert.True(response.Status == 200, response.ToString());
        Assert.Equal("no-store", response.Header("Cache-Control"));
        return [.. response.Json.GetProperty("sessions").EnumerateArray()];
    }

    [Fact]
    public async Task Sessions_are_listed_newest_first_with_client_and_current()
    {
        var user = await app.NewUserAsync("lister");
        clock.Advance(TimeSpan.FromMinutes(1));
        var firefox = await LoginFromAsync(user, FirefoxOnWindows);
        clock.Advance(TimeSpan.FromMinutes(1));
        var phone = await LoginFromAsync(user, SafariOnIPhone);

        var sessions = await SessionsAsync(firefox.AccessToken);

        Assert.Equal(3, sessions.Count);
        Assert.Equal(["Safari on iOS", "Firefox on Windows", null], sessions.Select(s => s.GetProperty("client").GetString()));
        Assert.Equal([false, true, false], sessions.Select(s => s.GetProperty("current").GetBoolean()));
        var created = sessions.Select(s => s.GetProperty("createdAt").GetDateTime()).ToList();
        Assert.Equal(created.OrderDescending(), created);
        Assert.True((await SessionsAsync(phone.AccessToken))[0].GetProperty("current").GetBoolean());
    }

    [Fact]
    public async Task A_refresh_moves_last_used_and_expiry_and_keeps_the_session_current()
    {
        var user = await app.NewUserAsync("refresher");
        var before = Assert.Single(await SessionsAsync(user.AccessToken));
        clock.Advance(TimeSpan.FromHours(2));

        var refreshed = await app.RefreshAsync(user.RefreshToken);
        var after = Assert.Single(await SessionsAsync(refreshed.Json.GetProperty("accessToken").GetString()!));

        Assert.Equal(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());
        Assert.Equal(before.GetProperty("createdAt").GetDateTime(), after.GetProperty("createdAt").GetDateTime());
        Assert.Equal(TimeSpan.FromHours(2), after.GetProperty("lastUsedAt").GetDateTime() - before.GetProperty("lastUsedAt").GetDateTime());
        Assert.Equal(TimeSpan.FromHours(2), after.GetProperty("expiresAt").GetDateTime() - before.GetProperty("expiresAt").GetDateTime());
        Assert.True(after.GetProperty("current").GetBoolean());
    }

    [Fact]
    public async Task Ended_and_expired_sessions_are_not_listed()
    {
        var user = await app.NewUserAsync("expirer");
        var second = await app.LoginAsync(user.Email);
        await app.PostJsonAsync("/api/auth/logout", new { refreshToken = second.Json.GetProperty("refreshToken").GetString() });
        Assert.Single(await SessionsAsync(user.AccessToken));
        clock.Advance(TimeSpan.FromDays(14) + TimeSpan.FromSeconds(1));
        var third = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);

        var sessions = await SessionsAsync(third.AccessToken);

        Assert.True(Assert.Single(sessions).GetProperty("current").GetBoolean());
    }

    [Fact]
    public async Task Ending_one_session_stops_its_refresh_token_and_leaves_the_others()
    {
        var user = await app.NewUserAsync("ender");
        var other = await LoginFromAsync(user, FirefoxOnWindows);
        var otherId = (await SessionsAsync(other.AccessToken)).Single(s => s.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;

        var ended = await app.SendAsync("DELETE", "/api/me/sessions/" + otherId, bearer: user.AccessToken);
        var again = await app.SendAsync("DELETE", "/api/me/sessions/" + otherId, bearer: user.AccessToken);

        Assert.Equal(204, ended.Status);
        Assert.Equal(404, again.Status);
        Assert.Equal(401, (await app.RefreshAsync(other.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
    }

    [Fact]
    public async Task Another_users_session_id_is_404_and_that_session_lives_on()
    {
        var victim = await app.NewUserAsync("victim");
        var attacker = await app.NewUserAsync("attacker");
        var victimId = Assert.Single(await SessionsAsync(victim.AccessToken)).GetProperty("id").GetString()!;

        var attempt = await app.SendAsync("DELETE", "/api/me/sessions/" + victimId, bearer: attacker.AccessToken);

        Assert.Equal(404, attempt.Status);
        Assert.StartsWith("application/problem+json", attempt.ContentType, StringComparison.Ordinal);
        Assert.Single(await SessionsAsync(victim.AccessToken));
        Assert.Equal(200, (await app.RefreshAsync(victim.RefreshToken)).Status);
        Assert.DoesNotContain(await SessionsAsync(attacker.AccessToken), s => s.GetProperty("id").GetString() == victimId);
    }

    [Theory]
    [InlineData("x' or PartitionKey ne 'x")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAB")]
    [InlineData("session-")]
    [InlineData("%0A")]
    [InlineData("..")]
    public async Task Unknown_or_malformed_session_ids_are_404(string id)
    {
        var user = await app.NewUserAsync("malformed");

        var response = await app.SendAsync("DELETE", "/api/me/sessions/" + id, bearer: user.AccessToken);

        Assert.Equal(404, response.Status);
        Assert.Single(await SessionsAsync(user.AccessToken));
    }

    [Fact]
    public async Task Signing_out_everywhere_ends_every_session_this_one_included()
    {
        var user = await app.NewUserAsync("everywhere");
        var others = new List<SignedInUser>();
        for (var i = 0; i < 3; i++)
        {
            others.Add(SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json));
        }

        var response = await app.SendAsync("DELETE", "/api/me/sessions", bearer: others[0].AccessToken);

        Assert.Equal(204, response.Status);
        foreach (var token in others.Select(o => o.RefreshToken).Append(user.RefreshToken))
        {
            Assert.Equal(401, (await app.RefreshAsync(token)).Status);
        }

        Assert.Empty(await SessionsAsync(user.AccessToken));
    }

    [Fact]
    public async Task Signing_out_everywhere_ends_more_sessions_than_one_transaction_holds()
    {
        var user = await app.NewUserAsync("many");
        var store = (SessionStore)app.Services.GetService(typeof(SessionStore))!;
        var sessions = (SessionService)app.Services.GetService(typeof(SessionService))!;
        var view = new Functions.Accounts.UserView(user.Id, user.Email, null, DateTime.UtcNow, EmailVerified: false);
        var accountKey = RefreshToken.TryParse(user.RefreshToken)!.AccountKey;
        for (var i = 0; i < 130; i++)
        {
            await store.AddAsync(sessions.Open(view, accountKey, null).Row, TestContext.Current.CancellationToken);
        }

        Assert.Equal(131, (await SessionsAsync(user.AccessToken)).Count);
        var response = await app.SendAsync("DELETE", "/api/me/sessions", bearer: user.AccessToken);

        Assert.Equal(204, response.Status);
        Assert.Empty(await store.ListAsync(accountKey, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_hostile_user_agent_is_neither_stored_nor_listed_only_known_words_are()
    {
        var user = await app.NewUserAsync("hostile-agent");
        const string hostile = "<script>alert(document.cookie)</script>\u0007 Firefox/1 (Windows) ' or ''='";

        var session = await LoginFromAsync(user, hostile + new string('x', 20_000));
        var listed = (await SessionsAsync(session.AccessToken)).Single(s => s.GetProperty("current").GetBoolean());

        Assert.Equal("Firefox on Windows", listed.GetProperty("client").GetString());
        var accountKey = RefreshToken.TryParse(session.RefreshToken)!.AccountKey;
        await foreach (var row in app.Table(Functions.Storage.AppTables.Users).QueryAsync<Azure.Data.Tables.TableEntity>(
            Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey eq {accountKey}"), cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.DoesNotContain(((IDictionary<string, object>)row).Values.OfType<string>(), value => value.Contains("script", StringComparison.Ordinal) || value.Contains("xxxx", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_access_token_names_its_session()
    {
        var user = await app.NewUserAsync("sid");
        var payload = user.AccessToken.Split('.')[1];
        var claims = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(payload)).RootElement;

        var listed = Assert.Single(await SessionsAsync(user.AccessToken));

        Assert.Equal(listed.GetProperty("id").GetString(), claims.GetProperty("sid").GetString());
    }
}
