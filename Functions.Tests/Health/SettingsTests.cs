using Microsoft.Extensions.Configuration;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Tests.Health;

public sealed class SettingsTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    [Fact]
    public void Missing_tables_setting_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TableStorageSettings.FromConfiguration(Settings()));

        Assert.Contains("'Tables'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_connection_string_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            TableStorageSettings.FromConfiguration(Settings(("Tables", "this is not a connection string"))));

        Assert.Contains("'Tables'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_uri_that_is_not_https_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            TableStorageSettings.FromConfiguration(Settings(("Tables:tableServiceUri", "http://account.table.core.windows.net"))));

        Assert.Contains("Tables__tableServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_uri_selects_managed_identity_with_the_configured_client_id()
    {
        var settings = TableStorageSettings.FromConfiguration(Settings(
            ("Tables:tableServiceUri", "https://account.table.core.windows.net"),
            ("Tables:clientId", "00000000-0000-0000-0000-000000000001")));

        Assert.Null(settings.ConnectionString);
        Assert.Equal(new Uri("https://account.table.core.windows.net"), settings.ServiceUri);
        Assert.Equal("00000000-0000-0000-0000-000000000001", settings.ClientId);
        Assert.Equal("account", settings.CreateClient(new Azure.Data.Tables.TableClientOptions()).AccountName);
    }
}
