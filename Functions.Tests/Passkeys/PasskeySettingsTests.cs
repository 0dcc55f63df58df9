using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>The Passkeys settings: a missing or invalid one stops start-up with a message naming it.</summary>
public sealed class PasskeySettingsTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("Passkeys:RelyingPartyId", "", "Passkeys__RelyingPartyId")]
    [InlineData("Passkeys:RelyingPartyId", "127.0.0.1", "Passkeys__RelyingPartyId")]
    [InlineData("Passkeys:RelyingPartyId", "https://page.example", "Passkeys__RelyingPartyId")]
    [InlineData("Passkeys:RelyingPartyId", "page.example:443", "Passkeys__RelyingPartyId")]
    [InlineData("Passkeys:RelyingPartyId", "Page.Example", "Passkeys__RelyingPartyId")]
    [InlineData("Passkeys:Origins", "", "Passkeys__Origins")]
    [InlineData("Passkeys:Origins", "https://evil.example", "Passkeys__Origins")]
    [InlineData("Passkeys:Origins", "https://page.example.evil.example", "Passkeys__Origins")]
    [InlineData("Passkeys:Origins", "http://page.example", "Passkeys__Origins")]
    [InlineData("Passkeys:Origins", "https://page.example/path", "Passkeys__Origins")]
    [InlineData("Passkeys:RelyingPartyName", " ", "Passkeys__RelyingPartyName")]
    public void An_invalid_passkey_setting_stops_start_up_naming_it(string setting, string value, string named)
    {
        var error = Assert.Throws<InvalidOperationException>(() => TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { [setting] = value }));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost", "http://localhost:5173")]
    [InlineData("page.example", "https://page.example,https://www.page.example:8443")]
    [InlineData("calm-sea-0a1b2c3d4.6.azurestaticapps.net", "https://calm-sea-0a1b2c3d4.6.azurestaticapps.net")]
    public async Task Valid_passkey_settings_start_the_app(string rpId, string origins)
    {
        await using var app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
        {
            ["Passkeys:RelyingPartyId"] = rpId,
            ["Passkeys:Origins"] = origins,
        });

        var options = (await app.SendAsync("POST", "/api/auth/passkey/options")).Json;

        Assert.Equal(rpId, options.GetProperty("rpId").GetString());
    }
}
