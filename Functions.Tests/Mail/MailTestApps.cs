using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>Apps whose mail goes to the tests' smtp4dev, on a clock the test moves.</summary>
public static class MailTestApps
{
    public const string PageOrigin = "https://page.example";

    public static async Task<(TestApp App, Smtp4devServer Mail, FakeTimeProvider Clock)> CreateAsync(
        string connectionString, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        var mail = await Smtp4devServer.GetAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var all = new Dictionary<string, string?>(mail.Settings);
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            all[name] = value;
        }

        return (TestApp.Create(connectionString, all, services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            configureServices?.Invoke(services);
        }), mail, clock);
    }

    /// <summary>Waits until the mails the app started sending in the background are out (or failed).</summary>
    public static Task MailsSentAsync(this TestApp app) => app.Services.GetRequiredService<MailDelivery>().WhenIdleAsync();

    public static Task<TestResponse> RequestResetAsync(this TestApp app, string email, IDictionary<string, string>? headers = null, System.Net.IPAddress? from = null) =>
        app.SendAsync("POST", "/api/auth/password-reset", System.Text.Json.JsonSerializer.Serialize(new { email }), "application/json", headers: headers, from: from);

    public static Task<TestResponse> ConfirmResetAsync(this TestApp app, string token, string newPassword) =>
        app.PostJsonAsync("/api/auth/password-reset/confirm", new { token, newPassword });

    public static Task<TestResponse> VerifyEmailAsync(this TestApp app, string token) =>
        app.PostJsonAsync("/api/auth/verify-email", new { token });
}
