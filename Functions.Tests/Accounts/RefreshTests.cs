using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Accounts;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Accounts;

public sealed class RefreshTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task Refresh_returns_a_new_session_and_retires_the_old_token()
    {
        var user = await app.NewUserAsync();

        var refreshed = await app.RefreshAsync(user.RefreshToken);

        Assert.Equal(200, refreshed.Status);
        var next = refreshed.Json.GetProperty("refreshToken").GetString()!;
        Assert.NotEqual(user.RefreshToken, next);
        Assert.Equal(user.Id, refreshed.Json.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal(200, (await app.GetAsync("/api/me", refreshed.Json.GetProperty("accessToken").GetString())).Status);
        Assert.Equal(200, (await app.RefreshAsync(next)).Status);
    }

    [Fact]
    public async Task Reusing_a_rotated_token_revokes_the_whole_family()
    {
        var user = await app.NewUserAsync();
        var next = (await app.RefreshAsync(user.RefreshToken)).Json.GetProperty("refreshToken").GetString()!;
        clock.Advance(AccountService.ConcurrentRefreshGrace);

        var reuse = await app.RefreshAsync(user.RefreshToken);
        var afterReuse = await app.RefreshAsync(next);

        Assert.Equal(401, reuse.Status);
        Assert.Equal(401, afterReuse.Status);
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains("reuse", StringComparison.Ordinal) && entry.Message.Contains(user.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_refreshes_of_one_token_give_exactly_one_success()
    {
        var user = await app.NewUserAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => app.RefreshAsync(user.RefreshToken))));

        var winner = Assert.Single(responses, r => r.Status == 200);
        Assert.All(responses.Where(r => r != winner), r => Assert.True(r.Status == 401, r.ToString()));
        Assert.Equal(200, (await app.RefreshAsync(winner.Json.GetProperty("refreshToken").GetString()!)).Status);
    }

    [Fact]
    public async Task A_duplicate_just_after_a_rotation_is_refused_without_ending_the_session()
    {
        var user = await app.NewUserAsync();
        var next = (await app.RefreshAsync(user.RefreshToken)).Json.GetProperty("refreshToken").GetString()!;
        clock.Advance(AccountService.ConcurrentRefreshGrace - TimeSpan.FromSeconds(1));

        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(next)).Status);
    }

    [Fact]
    public async Task An_older_token_revokes_even_within_the_grace()
    {
        var user = await app.NewUserAsync();
        var second = (await app.RefreshAsync(user.RefreshToken)).Json.GetProperty("refreshToken").GetString()!;
        var third = (await app.RefreshAsync(second)).Json.GetProperty("refreshToken").GetString()!;

        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Equal(401, (await app.RefreshAsync(third)).Status);
    }

    [Fact]
    public async Task Another_login_is_a_separate_family()
    {
        var user = await app.NewUserAsync();
        var second = (await app.LoginAsync(user.Email)).Json.GetProperty("refreshToken").GetString()!;
        await app.RefreshAsync(user.RefreshToken);
        clock.Advance(AccountService.ConcurrentRefreshGrace);

        await app.RefreshAsync(user.RefreshToken); // reuse: revokes the first family only

        Assert.Equal(200, (await app.RefreshAsync(second)).Status);
    }

    [Fact]
    public async Task A_refresh_token_expires_after_14_days()
    {
        var user = await app.NewUserAsync();
        clock.Advance(TimeSpan.FromDays(14) + TimeSpan.FromSeconds(1));

        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
    }

    [Theory]
    [InlineData("/api/auth/refresh")]
    [InlineData("/api/auth/logout")]
    public async Task A_missing_refresh_token_is_400(string route)
    {
        var empty = await app.SendAsync("POST", route, "{}", "application/json");
        var blank = await app.PostJsonAsync(route, new { refreshToken = "" });

        Assert.Equal(400, empty.Status);
        Assert.Equal(400, blank.Status);
        Assert.True(empty.Json.GetProperty("errors").TryGetProperty("refreshToken", out _));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Unknown_or_malformed_refresh_tokens_are_401(string token)
    {
        var response = await app.RefreshAsync(token);

        Assert.Equal(401, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_revokes_the_family_and_is_idempotent()
    {
        var user = await app.NewUserAsync();
        var next = (await app.RefreshAsync(user.RefreshToken)).Json.GetProperty("refreshToken").GetString()!;

        var first = await app.PostJsonAsync("/api/auth/logout", new { refreshToken = next });
        var second = await app.PostJsonAsync("/api/auth/logout", new { refreshToken = next });

        Assert.Equal(204, first.Status);
        Assert.Equal(204, second.Status);
        Assert.Equal("", first.Body);
        Assert.Equal(401, (await app.RefreshAsync(next)).Status);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Logout_with_an_unknown_token_is_204(string token)
    {
        Assert.Equal(204, (await app.PostJsonAsync("/api/auth/logout", new { refreshToken = token })).Status);
    }

    [Fact]
    public async Task Refresh_tokens_are_stored_only_as_hashes()
    {
        var user = await app.NewUserAsync();
        var secret = user.RefreshToken.Split('.')[1];

        var rows = app.Table(Functions.Storage.AppTables.RefreshTokens).QueryAsync<Azure.Data.Tables.TableEntity>(cancellationToken: TestContext.Current.CancellationToken);
        await foreach (var row in rows)
        {
            Assert.DoesNotContain(((IDictionary<string, object>)row).Values.OfType<string>(), value => value.Contains(secret, StringComparison.Ordinal));
        }
    }
}
