using Microsoft.Extensions.Configuration;
using Serverless.Functions.Deletion;

namespace Serverless.Functions.Tests.Deletion;

/// <summary>The purge queue is found from AzureWebJobsStorage exactly as the host finds its queue trigger's.</summary>
public sealed class PurgeJobsSettingsTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Missing_host_storage_setting_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PurgeJobs.FromConfiguration(Settings()));

        Assert.Contains("'AzureWebJobsStorage'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_connection_string_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PurgeJobs.FromConfiguration(Settings(("AzureWebJobsStorage", "not a connection string"))));

        Assert.Contains("'AzureWebJobsStorage'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Account_name_selects_the_accounts_queue_endpoint_as_the_host_does_in_azure()
    {
        var jobs = PurgeJobs.FromConfiguration(Settings(("AzureWebJobsStorage:accountName", "stexample"), ("AzureWebJobsStorage:clientId", "00000000-0000-0000-0000-000000000001")));

        Assert.Equal(new Uri("https://stexample.queue.core.windows.net/account-purge"), jobs.QueueUri);
    }

    [Fact]
    public void Queue_service_uri_that_is_not_https_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            PurgeJobs.FromConfiguration(Settings(("AzureWebJobsStorage:queueServiceUri", "http://stexample.queue.core.windows.net"))));

        Assert.Contains("AzureWebJobsStorage__queueServiceUri", error.Message, StringComparison.Ordinal);
    }
}
