using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>docs/api.md's email verification, end to end: real Azurite, real smtp4dev, the link followed as the page would.</summary>
public sealed class VerificationTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private Smtp4devServer mail = null!;
    private FakeTimeProvider clock = null!;

    public async ValueTask InitializeAsync() => (app, mail, clock) = await MailTestApps.CreateAsync(azurite.ConnectionString);

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task Signup_sends_a_verification_mail_whose_link_verifies_the_email_once()
    {
        var user = await app.NewUserAsync("verify");
        Assert.False((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("emailVerified").GetBoolean());

        var delivered = await mail.WaitForMailAsync(user.Email, "Confirm your email");
        var token = delivered.Token("verify");

        Assert.Equal(204, (await app.VerifyEmailAsync(token)).Status);
        Assert.True((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("emailVerified").GetBoolean());
        Assert.True((await app.LoginAsync(user.Email)).Json.GetProperty("user").GetProperty("emailVerified").GetBoolean());
        var again = await app.VerifyEmailAsync(token);
        Assert.Equal(400, again.Status);
        Assert.StartsWith("application/problem+json", again.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_verification_link_expires_after_24_hours()
    {
        var user = await app.NewUserAsync("expiry");
        var token = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");

        var sent = clock.GetUtcNow();
        clock.SetUtcNow(sent + TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1));
        var almostExpired = clock.GetUtcNow();
        // A second user's link, from the same moment, shows the boundary from the other side.
        var other = await app.NewUserAsync("expiry2");
        var otherToken = (await mail.WaitForMailAsync(other.Email, "Confirm your email")).Token("verify");
        clock.SetUtcNow(almostExpired + TimeSpan.FromMinutes(2));

        Assert.Equal(400, (await app.VerifyEmailAsync(token)).Status);
        Assert.Equal(204, (await app.VerifyEmailAsync(otherToken)).Status);
    }

    [Theory]
    [InlineData("not a token")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("../../Users/x.y")]
    public async Task An_unknown_or_malformed_token_is_400(string token)
    {
        var response = await app.VerifyEmailAsync(token);

        Assert.Equal(400, response.Status);
        Assert.Equal(400, response.Json.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_reset_token_does_not_verify_and_a_verification_token_does_not_reset()
    {
        var user = await app.NewUserAsync("crossed");
        var verifyToken = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");
        Assert.Equal(202, (await app.RequestResetAsync(user.Email)).Status);
        var resetToken = (await mail.WaitForMailAsync(user.Email, "Reset your")).Token("reset");

        Assert.Equal(400, (await app.VerifyEmailAsync(resetToken)).Status);
        Assert.Equal(400, (await app.ConfirmResetAsync(verifyToken, "a brand new long passphrase here")).Status);
    }

    [Fact]
    public async Task Sending_again_is_refused_within_a_minute_of_the_last_mail_and_ten_parallel_requests_send_one()
    {
        var user = await app.NewUserAsync("again");
        await app.MailsSentAsync();

        var tooSoon = await app.SendAsync("POST", "/api/me/verification-email", bearer: user.AccessToken);
        Assert.Equal(429, tooSoon.Status);
        Assert.InRange(int.Parse(tooSoon.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), 1, 60);

        clock.Advance(TimeSpan.FromSeconds(61));
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            app.SendAsync("POST", "/api/me/verification-email", bearer: user.AccessToken)));
        await app.MailsSentAsync();

        Assert.Equal(1, answers.Count(answer => answer.Status == 202));
        Assert.All(answers.Where(answer => answer.Status != 202), answer =>
        {
            Assert.Equal(429, answer.Status);
            Assert.NotNull(answer.Header("Retry-After"));
        });
        Assert.Equal(2, (await mail.MailsToAsync(user.Email, "Confirm your email")).Count);
    }

    [Fact]
    public async Task Sending_again_needs_a_bearer_token()
    {
        var response = await app.SendAsync("POST", "/api/me/verification-email");

        Assert.Equal(401, response.Status);
    }

    [Fact]
    public async Task The_mail_has_both_parts_the_product_the_link_the_expiry_and_the_not_you_line_and_no_other_personal_data()
    {
        var email = AccountsTestExtensions.UniqueEmail("content");
        Assert.Equal(201, (await app.SignupAsync(email, displayName: "Zebulon Quuxworth")).Status);

        var delivered = await mail.WaitForMailAsync(email, "Confirm your email");

        foreach (var part in new[] { delivered.PlainText, delivered.Html })
        {
            Assert.Contains("My Items", part, StringComparison.Ordinal);
            Assert.Contains("24 hours", part, StringComparison.Ordinal);
            Assert.Contains("If this wasn't you, ignore this mail", System.Net.WebUtility.HtmlDecode(part), StringComparison.Ordinal);
            Assert.Contains(MailTestApps.PageOrigin + "/#verify=", part, StringComparison.Ordinal);
            Assert.DoesNotContain("Zebulon", part, StringComparison.Ordinal);
            Assert.DoesNotContain(email, part, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains("<a href=\"" + MailTestApps.PageOrigin + "/#verify=", delivered.Html, StringComparison.Ordinal);
        Assert.Equal("noreply@serverless.example", delivered.From);
    }

    [Fact]
    public async Task Links_point_at_the_configured_page_origin_whatever_Host_headers_the_request_forges()
    {
        var email = AccountsTestExtensions.UniqueEmail("forged");
        var headers = new Dictionary<string, string> { ["Host"] = "evil.example", ["X-Forwarded-Host"] = "evil.example", ["Origin"] = "https://evil.example" };
        Assert.Equal(201, (await app.SendAsync("POST", "/api/auth/signup",
            JsonSerializer.Serialize(new { email, password = AccountsTestExtensions.GoodPassword }), "application/json", headers: headers)).Status);
        Assert.Equal(202, (await app.RequestResetAsync(email, headers)).Status);

        var verification = await mail.WaitForMailAsync(email, "Confirm your email");
        var reset = await mail.WaitForMailAsync(email, "Reset your");

        foreach (var delivered in new[] { verification, reset })
        {
            Assert.DoesNotContain("evil", delivered.PlainText + delivered.Html, StringComparison.Ordinal);
        }

        Assert.Equal(new Uri(MailTestApps.PageOrigin), new Uri(verification.Link("verify").GetLeftPart(UriPartial.Authority)));
        Assert.Equal(new Uri(MailTestApps.PageOrigin), new Uri(reset.Link("reset").GetLeftPart(UriPartial.Authority)));
    }
}
