using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passwords;

/// <summary>
/// Issue 13.4: at the 15-character minimum almost no entry of the old common-password list could match, so long but
/// obviously weak passwords went through. Each is refused now, and the error names the rule it broke.
/// </summary>
public sealed class WeakPasswordTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Theory]
    [InlineData("passwordpassword", "common or breached")]
    [InlineData("password1234567", "common password with only digits or symbols added")]
    [InlineData("!!sunshine2024!!", "common password with only digits or symbols added")]
    [InlineData("aaaaaaaaaaaaaaa", "repeats")]
    [InlineData("iloveyouiloveyou", "repeats")]
    [InlineData("abcabcabcabcabcab", "repeats")]
    [InlineData("ab12ab12ab12ab12", "repeats")]
    [InlineData("123456789012345", "sequence")]
    [InlineData("qwertyuiopasdfgh", "sequence")]
    [InlineData("ZYXWVUTSRQPONMLK", "sequence")]
    [InlineData("2wsx3edc4rfv5tgb", "sequence")]
    [InlineData("poiuytrewqlkjhgf", "sequence")]
    [InlineData("1qaz2wsx3edc4rfv", "common or breached")]
    [InlineData("we all love serverless apps", "service's name")]
    [InlineData("My Items are all safe here", "service's name")]
    public async Task Obviously_weak_passwords_are_refused_with_the_rule_they_break(string password, string rule)
    {
        var response = await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), password);

        Assert.Equal(400, response.Status);
        Assert.Contains(rule, response.Json.GetProperty("errors").GetProperty("password")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_built_on_the_emails_name_is_refused_at_any_length()
    {
        var name = "margaret" + Guid.NewGuid().ToString("N")[..6];

        var response = await app.SignupAsync($"{name}@example.com", $"{name}{name}!");

        Assert.Equal(400, response.Status);
        Assert.Contains("email address's name", response.Json.GetProperty("errors").GetProperty("password")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("correct horse battery staple")]
    [InlineData("purple monkey dishwasher 42")]
    [InlineData("zebra quartz lamp orbit")]
    [InlineData("Tr0ub4dor&3 was never enough")]
    [InlineData("jeg elsker å gå på tur i fjellet")]
    [InlineData("the rain in spain stays mainly")]
    public async Task Strong_passphrases_are_still_accepted(string password)
    {
        var response = await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), password);

        Assert.True(response.Status == 201, response.ToString());
    }

    [Fact]
    public async Task With_the_lowest_minimum_a_common_eight_character_password_is_still_refused()
    {
        await using var lenient = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:MinPasswordLength"] = "8" });

        var response = await lenient.SignupAsync(AccountsTestExtensions.UniqueEmail(), "baseball");

        Assert.Equal(400, response.Status);
        Assert.Contains("common or breached", response.Json.GetProperty("errors").GetProperty("password")[0].GetString(), StringComparison.Ordinal);
    }
}
