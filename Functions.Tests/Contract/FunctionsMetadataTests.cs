using System.Text.Json;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>
/// The routes the Functions host will serve come from the functions.metadata the Worker SDK writes into the build output;
/// these tests hold that file to docs/api.md.
/// </summary>
public sealed class FunctionsMetadataTests
{
    // Every route of docs/api.md: method, route under the "api" prefix. All are anonymous at the host:
    // protected routes are protected by the bearer token, never by function keys.
    private static readonly (string Method, string Route)[] Documented =
    [
        ("POST", "auth/signup"),
        ("POST", "auth/login"),
        ("POST", "auth/refresh"),
        ("POST", "auth/logout"),
        ("GET", "me"),
        ("DELETE", "me"),
        ("GET", "items"),
        ("POST", "items"),
        ("GET", "items/{id}"),
        ("PUT", "items/{id}"),
        ("DELETE", "items/{id}"),
        ("GET", "health"),
        ("GET", "openapi.json"),
        ("GET", "me/sessions"),
        ("DELETE", "me/sessions"),
        ("DELETE", "me/sessions/{id}"),
        ("PUT", "me/password"),
        ("POST", "auth/verify-email"),
        ("POST", "me/verification-email"),
        ("POST", "auth/password-reset"),
        ("POST", "auth/password-reset/confirm"),
        ("POST", "me/passkeys/options"),
        ("POST", "me/passkeys"),
        ("GET", "me/passkeys"),
        ("PATCH", "me/passkeys/{id}"),
        ("DELETE", "me/passkeys/{id}"),
        ("POST", "auth/passkey/options"),
        ("POST", "auth/passkey"),
        ("POST", "auth/signup/passkey/options"),
        ("POST", "auth/signup/passkey"),
        ("POST", "me/mfa/totp"),
        ("POST", "me/mfa/totp/confirm"),
        ("DELETE", "me/mfa/totp"),
        ("POST", "me/mfa/recovery-codes"),
        ("POST", "auth/login/mfa"),
    ];

    public static TheoryData<string, string> ApiRoutes => new(Documented);

    // The routes anyone may call (docs/api.md's account entry routes and health, and the OpenAPI document); every other route needs a bearer token.
    private static readonly string[] AnonymousRoutes =
        ["auth/signup", "auth/login", "auth/refresh", "auth/logout", "health", "openapi.json", "auth/verify-email", "auth/password-reset", "auth/password-reset/confirm",
         "auth/passkey/options", "auth/passkey", "auth/signup/passkey/options", "auth/signup/passkey", "auth/login/mfa"];

    [Theory]
    [MemberData(nameof(ApiRoutes))]
    public void Every_api_route_is_served_anonymously_by_exactly_one_function(string method, string route)
    {
        var matches = FunctionsMetadata.Routes.Where(f => f.Route == route && f.Methods.Contains(method, StringComparer.OrdinalIgnoreCase)).ToList();

        var function = Assert.Single(matches);
        Assert.Equal("Anonymous", function.AuthLevel);
    }

    [Fact]
    public void Every_function_in_the_metadata_is_an_api_route()
    {
        var documented = Documented.ToHashSet();

        foreach (var function in FunctionsMetadata.Routes)
        {
            foreach (var method in function.Methods)
            {
                Assert.Contains((method.ToUpperInvariant(), function.Route), documented);
            }
        }
    }

    [Fact]
    public void Metadata_matches_the_attributes_the_tests_dispatch_by()
    {
        var fromMetadata = FunctionsMetadata.Routes.Select(f => $"{f.Name} {f.EntryPoint} {string.Join(',', f.Methods.Select(m => m.ToUpperInvariant()))} {f.Route}").Order();
        var fromAttributes = FunctionRoute.All.Select(f => $"{f.Name} {f.Method.DeclaringType!.FullName}.{f.Method.Name} {string.Join(',', f.Methods)} {f.Route}").Order();

        Assert.Equal(fromAttributes, fromMetadata);
    }

    [Fact]
    public void Only_the_account_entry_routes_health_and_the_openapi_document_are_open_without_a_token()
    {
        // The authentication middleware looks functions up by the entry point the host sends; this resolves the same strings.
        var open = FunctionsMetadata.Routes.Where(f => Functions.Http.FunctionAccess.AllowsAnonymous(f.EntryPoint)).Select(f => f.Route).Order();

        Assert.Equal(AnonymousRoutes.Order(), open);
    }

    [Fact]
    public void The_cleanup_timer_runs_on_a_configured_schedule()
    {
        var others = FunctionsMetadata.Triggers().Where(function => function.Trigger.GetProperty("type").GetString() != "httpTrigger").ToList();

        var (name, trigger) = Assert.Single(others, function => function.Name == "Cleanup");
        Assert.Equal("Cleanup", name);
        Assert.Equal("timerTrigger", trigger.GetProperty("type").GetString());
        // A binding expression: the host reads the schedule from the setting Cleanup:Schedule (Cleanup__Schedule in app settings).
        Assert.Equal("%Cleanup:Schedule%", trigger.GetProperty("schedule").GetString());
        using var settings = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("local.settings.json.example")));
        var local = settings.RootElement.GetProperty("Values").GetProperty("Cleanup__Schedule").GetString()!;
        Assert.Equal(6, local.Split(' ').Length);
        Assert.Contains($"Cleanup__Schedule: '{local}'", File.ReadAllText(RepositoryRoot.Combine("infra", "modules", "functionapp.bicep")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_purge_recovery_timer_runs_on_a_configured_schedule_set_locally_and_in_bicep()
    {
        var others = FunctionsMetadata.Triggers().Where(function => function.Trigger.GetProperty("type").GetString() != "httpTrigger").ToList();

        var (name, trigger) = Assert.Single(others, function => function.Name == "PurgeRecovery");
        Assert.Equal("PurgeRecovery", name);
        Assert.Equal("timerTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("%Purge:RecoverySchedule%", trigger.GetProperty("schedule").GetString());
        using var settings = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("local.settings.json.example")));
        var local = settings.RootElement.GetProperty("Values").GetProperty("Purge__RecoverySchedule").GetString()!;
        Assert.Equal(6, local.Split(' ').Length);
        Assert.Contains($"Purge__RecoverySchedule: '{local}'", File.ReadAllText(RepositoryRoot.Combine("infra", "modules", "functionapp.bicep")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_purge_is_triggered_by_the_account_purge_queue_on_the_hosts_storage()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionsMetadata.OutputDirectory, "functions.metadata")));
        var nonHttp = document.RootElement.EnumerateArray()
            .Where(function => !function.GetProperty("bindings").EnumerateArray().Any(b => b.GetProperty("type").GetString() == "httpTrigger"))
            .ToList();

        var purge = Assert.Single(nonHttp, function => function.GetProperty("name").GetString() == "PurgeAccount");
        Assert.Equal("PurgeAccount", purge.GetProperty("name").GetString());
        var trigger = Assert.Single(purge.GetProperty("bindings").EnumerateArray());
        Assert.Equal("queueTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal(Functions.Deletion.PurgeJobs.Name, trigger.GetProperty("queueName").GetString());
        // The host resolves the connection from AzureWebJobsStorage (a connection string locally, __accountName with the identity in Azure).
        Assert.Equal("AzureWebJobsStorage", trigger.GetProperty("connection").GetString());
        Assert.True(File.Exists(Path.Combine(FunctionsMetadata.OutputDirectory, "extensions.json")));
        Assert.Contains("AzureStorageQueues", File.ReadAllText(Path.Combine(FunctionsMetadata.OutputDirectory, "extensions.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_mail_outbox_timer_runs_on_the_schedule_from_its_app_setting()
    {
        var others = FunctionsMetadata.Triggers().Where(function => function.Trigger.GetProperty("type").GetString() != "httpTrigger").ToList();

        var (name, trigger) = Assert.Single(others, function => function.Name == "MailOutbox");
        Assert.Equal("MailOutbox", name);
        Assert.Equal("timerTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("%" + Functions.Mail.MailOutboxFunction.ScheduleSetting + "%", trigger.GetProperty("schedule").GetString());
    }

    [Fact]
    public void Host_json_sets_the_api_route_prefix()
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionsMetadata.OutputDirectory, "host.json")));

        Assert.Equal("2.0", hostJson.RootElement.GetProperty("version").GetString());
        Assert.Equal(FunctionRoute.RoutePrefix, hostJson.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }
}
