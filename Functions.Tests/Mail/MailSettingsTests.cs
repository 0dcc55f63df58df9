using Microsoft.Extensions.Configuration;
using Serverless.Functions.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>Missing or invalid mail settings stop start-up with a message that names the setting.</summary>
public sealed class MailSettingsTests
{
    private static MailOptions Read(Dictionary<string, string?> changes)
    {
        var settings = TestApp.DefaultSettings("UseDevelopmentStorage=true");
        foreach (var (name, value) in changes)
        {
            settings[name] = value;
        }

        return MailOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    [Theory]
    [InlineData("Mail:PageOrigin", null, "Mail__PageOrigin")]
    [InlineData("Mail:PageOrigin", "https://page.example/path", "Mail__PageOrigin")]
    [InlineData("Mail:PageOrigin", "javascript:alert(1)", "Mail__PageOrigin")]
    [InlineData("Mail:SenderAddress", null, "Mail__SenderAddress")]
    [InlineData("Mail:SenderAddress", "not an address", "Mail__SenderAddress")]
    [InlineData("Mail:Smtp:Port", "70000", "Mail__Smtp__Port")]
    [InlineData("Mail:Smtp:Host", null, "Mail__Smtp__Host")]
    [InlineData("Mail:Acs:Endpoint", "https://acs.example.communication.azure.com", "Mail__Acs__Endpoint")]
    public void A_bad_mail_setting_stops_start_up_naming_it(string name, string? value, string named)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(new() { [name] = value }));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Communication_services_needs_an_https_endpoint_and_no_smtp()
    {
        var options = Read(new() { ["Mail:Smtp:Host"] = null, ["Mail:Acs:Endpoint"] = "https://acs.example.communication.azure.com" });
        Assert.Null(options.Smtp);
        Assert.Equal("https://acs.example.communication.azure.com/", options.Acs!.Endpoint.ToString());

        var error = Assert.Throws<InvalidOperationException>(() =>
            Read(new() { ["Mail:Smtp:Host"] = null, ["Mail:Acs:Endpoint"] = "http://acs.example.communication.azure.com" }));
        Assert.Contains("Mail__Acs__Endpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_example_local_settings_point_mail_at_smtp4dev_and_schedule_the_outbox()
    {
        using var example = System.Text.Json.JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("local.settings.json.example")));
        var values = example.RootElement.GetProperty("Values");

        Assert.Equal("127.0.0.1", values.GetProperty("Mail__Smtp__Host").GetString());
        Assert.False(string.IsNullOrEmpty(values.GetProperty("Mail__PageOrigin").GetString()));
        Assert.False(string.IsNullOrEmpty(values.GetProperty(MailOutboxFunction.ScheduleSetting).GetString()));
    }
}
