using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Mail;

namespace Serverless.Functions.Tests.Support;

/// <summary>Shortcuts for tests that need signed-in users.</summary>
public static class AccountsTestExtensions
{
    public const string GoodPassword = "correct horse battery staple";

    public static string UniqueEmail(string name = "user") => $"{name}.{Guid.NewGuid():N}@example.com";

    public static Task<TestResponse> SignupAsync(this TestApp app, string email, string password = GoodPassword, string? displayName = null) =>
        app.PostJsonAsync("/api/auth/signup", displayName is null ? new { email, password } : new { email, password, displayName });

    public static Task<TestResponse> LoginAsync(this TestApp app, string email, string password = GoodPassword) =>
        app.PostJsonAsync("/api/auth/login", new { email, password });

    public static Task<TestResponse> RefreshAsync(this TestApp app, string refreshToken) =>
        app.PostJsonAsync("/api/auth/refresh", new { refreshToken });

    /// <summary>Signs a new user up and returns their session.</summary>
    public static async Task<SignedInUser> NewUserAsync(this TestApp app, string name = "user")
    {
        var email = UniqueEmail(name);
        var response = await app.SignupAsync(email);
        // Users made in parallel may meet the instance's hash cap: 503 with Retry-After, as a client would retry.
        for (var retry = 0; response.Status == 503 && response.Header("Retry-After") is { } wait && retry < 30; retry++)
        {
            await Task.Delay(TimeSpan.FromSeconds(int.Parse(wait, System.Globalization.CultureInfo.InvariantCulture)) + TimeSpan.FromMilliseconds(Random.Shared.Next(500)));
            response = await app.SignupAsync(email);
        }

        Assert.True(response.Status == 201, response.ToString());
        // The verification mail is sent after the answer, and a failed send writes its Outbox marker then: done before the
        // test goes on, so that no test counts (or races) a storage request of a signup it made earlier.
        await app.Services.GetRequiredService<MailDelivery>().WhenIdleAsync();
        return SignedInUser.From(email, response.Json);
    }
}

public sealed record SignedInUser(string Email, string Id, string AccessToken, string RefreshToken)
{
    public static SignedInUser From(string email, JsonElement session) => new(
        email,
        session.GetProperty("user").GetProperty("id").GetString()!,
        session.GetProperty("accessToken").GetString()!,
        session.GetProperty("refreshToken").GetString()!);
}
