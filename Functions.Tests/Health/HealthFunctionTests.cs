using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Health;

public sealed class HealthFunctionTests(AzuriteFixture azurite)
{
    private const string DeadStorage =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;";

    [Fact]
    public async Task Health_answers_200_healthy_when_tables_answer()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await app.GetAsync("/api/health");

        Assert.Equal(200, response.Status);
        Assert.StartsWith("application/json", response.ContentType, StringComparison.Ordinal);
        Assert.Equal("healthy", response.Json.GetProperty("status").GetString());
        Assert.Equal("healthy", response.Json.GetProperty("checks").GetProperty("tables").GetString());
    }

    [Fact]
    public async Task Health_creates_the_tables_it_needs()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        await app.GetAsync("/api/health");

        foreach (var table in Functions.Storage.AppTables.All)
        {
            await app.Table(table).GetAccessPoliciesAsync(cancellationToken: TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Health_answers_503_problem_within_5_seconds_when_storage_is_unreachable()
    {
        await using var app = TestApp.Create(DeadStorage);
        var clock = Stopwatch.StartNew();

        var response = await app.GetAsync("/api/health");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(503, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        Assert.Equal("unhealthy", response.Json.GetProperty("checks").GetProperty("tables").GetString());
        Assert.Equal(503, response.Json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(response.Json.GetProperty("traceId").GetString()));
        Assert.Equal("5", response.Header("Retry-After"));
    }

    [Fact]
    public async Task Health_recovers_without_a_restart_when_storage_comes_back()
    {
        await using var storage = await AzuriteServer.StartAsync(persistent: true);
        await storage.StopAsync();
        await using var app = TestApp.Create(storage.ConnectionString);

        var whileDown = await app.GetAsync("/api/health");
        await storage.RestartAsync();
        var afterRestart = await app.GetAsync("/api/health");

        Assert.Equal(503, whileDown.Status);
        Assert.Equal(200, afterRestart.Status);
    }

    [Fact]
    public async Task Start_up_survives_storage_being_down()
    {
        await using var app = TestApp.Create(DeadStorage);
        var warmUp = app.Services.GetServices<IHostedService>().Single();

        var clock = Stopwatch.StartNew();
        await warmUp.StartAsync(TestContext.Current.CancellationToken);
        while (!app.Logs.Entries.Any(entry => entry.Message.Contains("could not be created", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        var health = await app.GetAsync("/api/health");
        await warmUp.StopAsync(TestContext.Current.CancellationToken);

        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains("could not be created", StringComparison.Ordinal));
        Assert.Equal(503, health.Status);
    }
}
