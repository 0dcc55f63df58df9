// Over ~300 lines on purpose: refresh-token rotation, its grace, reuse and the thief scenarios share one clock and
// one session setup.
using Azure.Data.Tables;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Accounts;

public sealed class RefreshTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan Grace = SessionService.ConcurrentRefreshGrace;
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<string> RotateAsync(string refreshToken)
    {
        var response = await app.RefreshAsync(refreshToken);
        Assert.True(response.Status == 200, response.ToString());
        return response.Json.GetProperty("refreshToken").GetString()!;
    }

    private async Task<TableEntity?> SessionRowAsync(string refreshToken)
    {
        var token = RefreshToken.TryParse(refreshToken)!;
        var row = await app.Table(AppTables.Users).GetEntityIfExistsAsync<TableEntity>(token.AccountKey, SessionStore.RowKeyOf(token.SessionId),
            cancellationToken: TestContext.Current.CancellationToken);
        return row.HasValue ? row.Value : null;
    }

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
    public async Task Reusing_a_rotated_token_after_the_grace_revokes_the_whole_session()
    {
        var user = await app.NewUserAsync();
        var next = await RotateAsync(user.RefreshToken);
        clock.Advance(Grace);

        var reuse = await app.RefreshAsync(user.RefreshToken);
        var afterReuse = await app.RefreshAsync(next);

        Assert.Equal(401, reuse.Status);
        Assert.Equal(401, afterReuse.Status);
        Assert.Null(await SessionRowAsync(next));
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains("reuse", StringComparison.Ordinal) && entry.Message.Contains(user.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_thief_who_refreshes_first_loses_the_session_when_the_victim_refreshes_after_the_grace()
    {
        var victim = await app.NewUserAsync("victim");
        var stolen = victim.RefreshToken;

        var thiefToken = await RotateAsync(stolen);
        clock.Advance(TimeSpan.FromMinutes(5));
        var victimRefresh = await app.RefreshAsync(stolen);
        var thiefNext = await app.RefreshAsync(thiefToken);

        // The victim is refused, but so is the thief from now on: the session is gone, not handed over.
        Assert.Equal(401, victimRefresh.Status);
        Assert.Equal(401, thiefNext.Status);
        Assert.Null(await SessionRowAsync(thiefToken));
    }

    [Fact]
    public async Task Within_the_grace_thief_and_victim_share_one_chain_and_the_thiefs_ends_at_the_next_rotation()
    {
        var victim = await app.NewUserAsync("victim");
        var stolen = victim.RefreshToken;

        var thiefToken = await RotateAsync(stolen);
        clock.Advance(Grace - TimeSpan.FromSeconds(1));
        var victimToken = await RotateAsync(stolen);
        Assert.Equal(thiefToken, victimToken);

        // The victim's page refreshes again later; the thief's copy is now a rotated token and ends the session.
        clock.Advance(TimeSpan.FromMinutes(15));
        var victimNext = await RotateAsync(victimToken);
        clock.Advance(TimeSpan.FromMinutes(1));
        var thiefNext = await app.RefreshAsync(thiefToken);

        Assert.Equal(401, thiefNext.Status);
        Assert.Equal(401, (await app.RefreshAsync(victimNext)).Status);
        Assert.Null(await SessionRowAsync(victimNext));
    }

    [Fact]
    public async Task Within_the_grace_a_thief_who_rotates_again_ends_the_session_at_the_victims_next_refresh()
    {
        var victim = await app.NewUserAsync("victim");
        var stolen = victim.RefreshToken;

        var shared = await RotateAsync(stolen);
        Assert.Equal(shared, await RotateAsync(stolen));
        clock.Advance(TimeSpan.FromMinutes(1));
        var thiefNext = await RotateAsync(shared);
        clock.Advance(TimeSpan.FromMinutes(14));

        Assert.Equal(401, (await app.RefreshAsync(shared)).Status);
        Assert.Equal(401, (await app.RefreshAsync(thiefNext)).Status);
    }

    [Fact]
    public async Task A_double_click_gets_the_same_working_session_twice()
    {
        var user = await app.NewUserAsync();

        var responses = await Task.WhenAll(Task.Run(() => app.RefreshAsync(user.RefreshToken)), Task.Run(() => app.RefreshAsync(user.RefreshToken)));

        Assert.All(responses, response => Assert.True(response.Status == 200, response.ToString()));
        var tokens = responses.Select(response => response.Json.GetProperty("refreshToken").GetString()!).Distinct().ToList();
        var next = Assert.Single(tokens);
        Assert.Equal(1, (await SessionRowAsync(next))!.GetInt32("Rotations"));
        foreach (var response in responses)
        {
            Assert.Equal(200, (await app.GetAsync("/api/me", response.Json.GetProperty("accessToken").GetString())).Status);
        }

        Assert.Equal(200, (await app.RefreshAsync(next)).Status);
    }

    [Fact]
    public async Task An_older_token_revokes_even_within_the_grace()
    {
        var user = await app.NewUserAsync();
        var second = await RotateAsync(user.RefreshToken);
        var third = await RotateAsync(second);

        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Equal(401, (await app.RefreshAsync(third)).Status);
    }

    [Fact]
    public async Task Another_login_is_a_separate_session()
    {
        var user = await app.NewUserAsync();
        var second = (await app.LoginAsync(user.Email)).Json.GetProperty("refreshToken").GetString()!;
        await RotateAsync(user.RefreshToken);
        clock.Advance(Grace);

        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status); // reuse: ends the first session only

        Assert.Equal(200, (await app.RefreshAsync(second)).Status);
    }

    [Fact]
    public async Task A_refresh_token_expires_after_14_days_unused()
    {
        var user = await app.NewUserAsync();
        clock.Advance(TimeSpan.FromDays(14) + TimeSpan.FromSeconds(1));

        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
    }

    [Fact]
    public async Task A_session_ends_90_days_after_login_however_often_it_is_refreshed()
    {
        var user = await app.NewUserAsync();
        var token = user.RefreshToken;
        for (var day = 0; day < 89; day += 7)
        {
            token = await RotateAsync(token);
            clock.Advance(TimeSpan.FromDays(7));
        }

        clock.Advance(TimeSpan.FromDays(1));
        var refreshed = await app.RefreshAsync(token);

        Assert.True(refreshed.Status == 401, refreshed.ToString());
    }

    [Fact]
    public async Task A_refresh_near_the_end_of_a_session_lasts_only_until_that_end()
    {
        var user = await app.NewUserAsync();
        var token = user.RefreshToken;
        for (var day = 0; day < 87; day += 3)
        {
            clock.Advance(TimeSpan.FromDays(3));
            token = await RotateAsync(token);
        }

        var late = await app.RefreshAsync(token);
        clock.Advance(TimeSpan.FromDays(3) + TimeSpan.FromSeconds(1));
        var afterEnd = await app.RefreshAsync(late.Json.GetProperty("refreshToken").GetString()!);

        Assert.Equal(200, late.Status);
        // Day 87 of 90: the answer says 3 days are left, not the usual 14.
        Assert.Equal((int)TimeSpan.FromDays(3).TotalSeconds, late.Json.GetProperty("refreshExpiresIn").GetInt32());
        Assert.Equal(401, afterEnd.Status);
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

    private static string[] MalformedTokens(string valid) =>
    [
        "garbage",
        "a.b",
        "a.b.c",
        valid + "A",
        valid.Replace(".", "..", StringComparison.Ordinal),
        valid.Insert(50, "\t"),
        valid.Insert(50, "\n"),
        valid.Insert(10, " "),
        valid[..^1] + "=",
        valid.Replace(".", "/", StringComparison.Ordinal),
        valid.Insert(60, "#"),
        valid.Insert(60, "\u0000"),
        new string('A', 43) + "." + new string('A', 22) + "." + new string('A', 43),
    ];

    [Fact]
    public async Task Malformed_refresh_tokens_are_401_and_their_logout_204_never_5xx()
    {
        var user = await app.NewUserAsync();

        foreach (var token in MalformedTokens(user.RefreshToken))
        {
            var refresh = await app.RefreshAsync(token);
            var logout = await app.PostJsonAsync("/api/auth/logout", new { refreshToken = token });

            Assert.True(refresh.Status == 401, $"{Escape(token)}: {refresh}");
            Assert.StartsWith("application/problem+json", refresh.ContentType, StringComparison.Ordinal);
            Assert.True(logout.Status == 204, $"{Escape(token)}: {logout}");
        }

        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
    }

    [Fact]
    public async Task A_whitespace_inside_the_session_part_is_refused_by_the_parser()
    {
        var user = await app.NewUserAsync();
        var parts = user.RefreshToken.Split('.');

        // The lenient base64url decoder skips whitespace: these decode to the right lengths, and must still be refused.
        Assert.Null(RefreshToken.TryParse(parts[0] + "." + parts[1][..11] + "\t" + parts[1][11..] + "." + parts[2]));
        Assert.Null(RefreshToken.TryParse(parts[0] + "." + parts[1] + "\n." + parts[2]));
        Assert.NotNull(RefreshToken.TryParse(user.RefreshToken));
    }

    [Fact]
    public async Task Knowing_the_session_but_not_its_secret_cannot_end_it()
    {
        var user = await app.NewUserAsync();
        var parts = user.RefreshToken.Split('.');
        var forged = parts[0] + "." + parts[1] + "." + RefreshToken.New(parts[0]).Secret;

        var logout = await app.PostJsonAsync("/api/auth/logout", new { refreshToken = forged });
        var refresh = await app.RefreshAsync(forged);

        Assert.Equal(204, logout.Status);
        Assert.Equal(401, refresh.Status);
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
    }

    [Fact]
    public async Task Logout_ends_the_session_and_is_idempotent()
    {
        var user = await app.NewUserAsync();
        var next = await RotateAsync(user.RefreshToken);

        var first = await app.PostJsonAsync("/api/auth/logout", new { refreshToken = next });
        var second = await app.PostJsonAsync("/api/auth/logout", new { refreshToken = next });

        Assert.Equal(204, first.Status);
        Assert.Equal(204, second.Status);
        Assert.Equal("", first.Body);
        Assert.Equal(401, (await app.RefreshAsync(next)).Status);
        Assert.Null(await SessionRowAsync(next));
    }

    [Fact]
    public async Task Refresh_secrets_and_session_keys_are_stored_only_as_hashes()
    {
        var user = await app.NewUserAsync();
        var next = await RotateAsync(user.RefreshToken);
        var accountKey = user.RefreshToken.Split('.')[0];
        // The session key and both secrets; the account key is the partition's name anyway.
        string[] parts = [user.RefreshToken.Split('.')[1], user.RefreshToken.Split('.')[2], next.Split('.')[2]];

        var rows = app.Table(AppTables.Users).QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {accountKey}"), cancellationToken: TestContext.Current.CancellationToken);
        var seen = 0;
        await foreach (var row in rows)
        {
            // The verification mail's rows (token hash, outbox, limit) are checked too, but not counted.
            seen += row.RowKey.StartsWith("mail", StringComparison.Ordinal) ? 0 : 1;
            var values = ((IDictionary<string, object>)row).Values.OfType<string>().Append(row.RowKey).ToList();
            foreach (var part in parts)
            {
                Assert.DoesNotContain(values, value => value.Contains(part, StringComparison.Ordinal));
            }
        }

        // The account's row and its one session row.
        Assert.Equal(2, seen);
    }

    private static string Escape(string text) => string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
