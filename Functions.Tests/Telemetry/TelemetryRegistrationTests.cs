using System.Text.Json;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Telemetry;

public sealed class TelemetryRegistrationTests
{
    // A well-formed connection string for an ingestion endpoint that is never contacted: no provider is built here.
    private const string ConnectionString =
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/;LiveEndpoint=http://127.0.0.1:9/";

    private static IServiceCollection Register(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        return new ServiceCollection().AddLogging().AddAppTelemetry(configuration);
    }

    [Fact]
    public void Without_a_connection_string_no_OpenTelemetry_is_registered()
    {
        var services = Register();

        Assert.DoesNotContain(services, d => d.ServiceType.Namespace?.StartsWith("OpenTelemetry", StringComparison.Ordinal) == true);
        Assert.Contains(services, d => d.ServiceType == typeof(AppMetrics));
    }

    [Fact]
    public void With_a_connection_string_logs_traces_and_metrics_are_exported()
    {
        var services = Register((TelemetrySettings.ConnectionStringSetting, ConnectionString),
            (TelemetrySettings.AuthenticationStringSetting, "ClientId=11111111-1111-1111-1111-111111111111;Authorization=AAD"));

        Assert.Contains(services, d => d.ServiceType == typeof(TracerProvider));
        Assert.Contains(services, d => d.ServiceType == typeof(MeterProvider));
        Assert.Contains(services, d => d.ServiceType == typeof(LoggerProvider));
    }

    [Fact]
    public void The_authentication_string_names_the_managed_identity_to_send_telemetry_with()
    {
        var settings = Settings("ClientId=11111111-1111-1111-1111-111111111111;Authorization=AAD")!;

        Assert.Equal("11111111-1111-1111-1111-111111111111", settings.ClientId);
        Assert.IsType<ManagedIdentityCredential>(settings.CreateCredential());
    }

    [Fact]
    public void Entra_authentication_without_a_client_id_uses_the_default_credential()
    {
        Assert.IsType<DefaultAzureCredential>(Settings("Authorization=AAD")!.CreateCredential());
    }

    [Fact]
    public void Without_an_authentication_string_the_connection_string_alone_is_used()
    {
        Assert.Null(Settings(null)!.CreateCredential());
    }

    [Theory]
    [InlineData("ClientId=abc")]
    [InlineData("ClientId=abc;Authorization=Key")]
    [InlineData("Authorization=AAD;Secret=xyz")]
    [InlineData("nonsense")]
    public void A_malformed_authentication_string_stops_start_up_naming_the_setting(string authentication)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Settings(authentication));

        Assert.Contains(TelemetrySettings.AuthenticationStringSetting, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("xyz", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_string_without_an_instrumentation_key_stops_start_up_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new(TelemetrySettings.ConnectionStringSetting, "UseDevelopmentStorage=true")])
            .Build();

        var error = Assert.Throws<InvalidOperationException>(() => TelemetrySettings.FromConfiguration(configuration));

        Assert.Contains(TelemetrySettings.ConnectionStringSetting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_json_sends_the_hosts_telemetry_through_OpenTelemetry_with_a_bounded_timeout()
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionsMetadata.OutputDirectory, "host.json")));
        var root = hostJson.RootElement;

        Assert.Equal("OpenTelemetry", root.GetProperty("telemetryMode").GetString());
        Assert.True(TimeSpan.TryParse(root.GetProperty("functionTimeout").GetString(), System.Globalization.CultureInfo.InvariantCulture, out var timeout));
        Assert.InRange(timeout, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5));
    }

    private static TelemetrySettings? Settings(string? authentication)
    {
        var values = new Dictionary<string, string?> { [TelemetrySettings.ConnectionStringSetting] = ConnectionString };
        if (authentication is not null)
        {
            values[TelemetrySettings.AuthenticationStringSetting] = authentication;
        }

        return TelemetrySettings.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
    }
}
