using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Serverless.Functions.Accounts;
using Serverless.Functions.Passwords;
using Serverless.Functions.Tests.Support;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Tests.Accounts;

/// <summary>
/// Issue 13.2: the app compared emails and passwords as NFC only in the tests. Its runtimeconfig set
/// <c>System.Globalization.Invariant</c>, under which the normalizer does nothing, while the test host ran with ICU.
/// These tests run the app's code the way it ships: under the app's own runtimeconfig, in a process of its own.
/// </summary>
public sealed class UnicodeRuntimeTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Composed = "ren\u00e9";
    private const string Decomposed = "rene\u0301";
    private TestApp app = null!;

    private static string AppRuntimeConfig => Path.Combine(FunctionsMetadata.OutputDirectory, "Serverless.Functions.runtimeconfig.json");

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task The_app_normalizes_under_its_own_runtimeconfig()
    {
        // The test above, run again by a fresh process that takes the app's runtimeconfig instead of the tests' own.
        var testAssembly = typeof(UnicodeRuntimeTests).Assembly.Location;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "exec", "--runtimeconfig", AppRuntimeConfig, testAssembly, "-method", $"{typeof(NormalizationProbe).FullName}.{nameof(NormalizationProbe.The_app_normalizes_in_this_process)}" },
        };
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);

        var report = await output + await errors;
        Assert.True(child.ExitCode == 0, report);
        Assert.Contains("Total: 1, Errors: 0, Failed: 0", report, StringComparison.Ordinal);
    }

    [Fact]
    public void The_test_host_runs_with_every_setting_of_the_apps_runtimeconfig()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(AppRuntimeConfig));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").EnumerateObject().ToList();

        Assert.DoesNotContain(properties, property => property.Name == "System.Globalization.Invariant" && property.Value.ValueKind == JsonValueKind.True);
        Assert.All(properties, property => Assert.Equal(
            property.Value.ToString().ToLowerInvariant(), AppContext.GetData(property.Name)?.ToString()?.ToLowerInvariant()));
    }

    [Fact]
    public async Task An_email_in_either_normal_form_is_one_account()
    {
        var suffix = $".{Guid.NewGuid():N}@example.com";

        var first = await app.SignupAsync(Composed + suffix);
        var second = await app.SignupAsync(Decomposed + suffix);
        var login = await app.LoginAsync(Decomposed + suffix);

        Assert.Equal(201, first.Status);
        Assert.Equal(409, second.Status);
        Assert.Equal(200, login.Status);
        Assert.Equal(first.Json.GetProperty("user").GetProperty("id").GetString(), login.Json.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_password_typed_decomposed_logs_into_an_account_set_composed()
    {
        var email = AccountsTestExtensions.UniqueEmail("nfc");
        Assert.Equal(201, (await app.SignupAsync(email, "caf\u00e9 " + AccountsTestExtensions.GoodPassword)).Status);

        var login = await app.LoginAsync(email, "cafe\u0301 " + AccountsTestExtensions.GoodPassword);

        Assert.Equal(200, login.Status);
    }
}

/// <summary>The app's own normalization, account key and password hashing; run in-process and, by the test above, under the app's runtimeconfig.</summary>
public sealed class NormalizationProbe
{
    private const string Composed = "ren\u00e9";
    private const string Decomposed = "rene\u0301";

    [Fact]
    public void The_app_normalizes_in_this_process()
    {
        var options = new AuthOptions { SigningKey = new byte[32], IdentifierHashKey = new byte[32] };
        var hasher = new PasswordHasher(options);
        var keys = new AccountKeys(options);

        Assert.False(Decomposed.IsNormalized(NormalizationForm.FormC));
        Assert.True(Text.TryNormalize(Decomposed + "@example.com", out var email));
        Assert.Equal(Composed + "@example.com", email);
        Assert.Equal(keys.KeyOf(Composed + "@example.com"), keys.KeyOf(Decomposed + "@example.com"));
        Assert.Equal(PasswordCheck.Correct, hasher.Verify("caf\u00e9 " + AccountsTestExtensions.GoodPassword, hasher.Hash("cafe\u0301 " + AccountsTestExtensions.GoodPassword)));
    }
}
