using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Infrastructure;

/// <summary>The template's identities and roles, mail, passkeys, the client address, CORS and the key vault.</summary>
public sealed partial class InfrastructureTests
{
    [Theory]
    [InlineData(StorageBlobDataOwner, StorageAccounts)]
    [InlineData(StorageTableDataContributor, StorageAccounts)]
    [InlineData(StorageQueueDataContributor, StorageAccounts)]
    [InlineData(KeyVaultSecretsUser, KeyVaults)]
    [InlineData(MonitoringMetricsPublisher, ApplicationInsights)]
    public void Function_app_identity_holds_each_role_it_needs_on_that_resource(string roleId, string scopeType)
    {
        var assignment = Assert.Single(RoleAssignmentsOf(IsFunctionAppIdentity), a => GrantsRole(a, roleId));

        AssertScopedAndNamed(assignment, scopeType, roleId);
        Assert.Equal("ServicePrincipal", (string?)assignment.Properties["principalType"]);
    }

    [Fact]
    public void Function_app_identity_holds_no_role_beyond_those_it_needs()
    {
        var granted = RoleAssignmentsOf(IsFunctionAppIdentity).ToList();

        // The four data/secret/telemetry roles above, Queue Data Contributor for the account purge's queue trigger (and the
        // app's enqueue), and the custom mail-sending role on the Communication Services resource; nothing else.
        Assert.Equal(6, granted.Count);
    }

    [Fact]
    public void Mail_goes_through_communication_services_linked_to_an_azure_managed_email_domain()
    {
        var domain = bicep.SingleResource("Microsoft.Communication/emailServices/domains");
        var communication = bicep.SingleResource("Microsoft.Communication/communicationServices");

        Assert.Equal("AzureManaged", (string?)domain.Properties["domainManagement"]);
        Assert.Contains("Microsoft.Communication/emailServices/domains", ArmJson.Text(communication.Properties["linkedDomains"]));
    }

    [Fact]
    public void The_app_sends_mail_keyless_with_an_endpoint_a_sender_address_and_no_key_or_connection_string()
    {
        var settings = AppSettings();
        var site = bicep.SingleResource(Sites);

        Assert.Contains("communication", site.ModuleArgument("mailEndpoint"), StringComparison.Ordinal);
        Assert.Equal("[parameters('mailEndpoint')]", (string?)settings["Mail__Acs__Endpoint"]);
        Assert.Equal("[parameters('identityClientId')]", (string?)settings["Mail__Acs__ClientId"]);
        Assert.Equal("[parameters('mailSenderAddress')]", (string?)settings["Mail__SenderAddress"]);
        Assert.Contains("mailFromSenderDomain", ArmJson.Text(bicep.Template), StringComparison.Ordinal);
        Assert.Contains("MailOutboxSchedule", settings.Select(s => s.Key));
        Assert.DoesNotContain(settings, s => s.Key.StartsWith("Mail", StringComparison.Ordinal)
            && (s.Key.Contains("Key", StringComparison.OrdinalIgnoreCase) || s.Key.Contains("Connection", StringComparison.OrdinalIgnoreCase)
                || ArmJson.Text(s.Value).Contains("accesskey", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public void The_app_identity_may_only_send_mail_on_the_one_communication_services_resource()
    {
        var role = bicep.SingleResource("Microsoft.Authorization/roleDefinitions");
        var assignment = Assert.Single(RoleAssignmentsOf(IsFunctionAppIdentity),
            a => ((string?)a.Resource["scope"] ?? "").Contains("Microsoft.Communication/communicationServices", StringComparison.Ordinal));

        var permissions = Assert.Single(role.Properties["permissions"]!.AsArray())!;
        Assert.Equal(
            ["Microsoft.Communication/CommunicationServices/Read", "Microsoft.Communication/EmailServices/write"],
            permissions["actions"]!.AsArray().Select(a => (string?)a).Order());
        Assert.Empty(permissions["dataActions"]?.AsArray() ?? []);
        Assert.Contains("roleDefinitions", assignment.Resolved((string?)assignment.Properties["roleDefinitionId"]), StringComparison.Ordinal);
        Assert.Equal("ServicePrincipal", (string?)assignment.Properties["principalType"]);
    }

    [Theory]
    [InlineData(StorageBlobDataOwner, StorageAccounts)]
    [InlineData(StorageTableDataContributor, StorageAccounts)]
    [InlineData(KeyVaultSecretsOfficer, KeyVaults)]
    public void Deploying_user_gets_data_and_secret_roles_only_when_a_principal_id_is_given(string roleId, string scopeType)
    {
        var assignment = Assert.Single(RoleAssignmentsOf(IsDeployingUser), a => GrantsRole(a, roleId));

        AssertScopedAndNamed(assignment, scopeType, roleId);
        Assert.Equal("[not(empty(parameters('principalId')))]", (string?)assignment.Deployment?["condition"]);
    }

    [Fact]
    public void Passkeys_are_bound_to_the_static_web_apps_host_name_and_accepted_only_from_its_https_origin()
    {
        var settings = AppSettings();
        var site = bicep.SingleResource(Sites);
        var rpId = site.ModuleArgument("passkeyRelyingPartyId");

        Assert.Equal("[parameters('passkeyRelyingPartyId')]", (string?)settings["Passkeys__RelyingPartyId"]);
        Assert.Equal("[format('https://{0}', parameters('passkeyRelyingPartyId'))]", (string?)settings["Passkeys__Origins"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)settings["Passkeys__RelyingPartyName"]));
        // The relying-party id is the Static Web App's default host name itself: no scheme, no port, no path.
        Assert.Contains("'Microsoft.Resources/deployments', 'web')", rpId, StringComparison.Ordinal);
        Assert.EndsWith(".outputs.defaultHostname.value]", rpId, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", rpId, StringComparison.Ordinal);
        // The page's origin for mails and CORS is the same host, so the page that calls the API can use its passkeys.
        Assert.Contains(".outputs.defaultHostname.value", site.ModuleArgument("pageOrigin"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "connection")]
    [InlineData("55ce4ed1-4b06-4bf1-b40e-4638452104da", "front-door")]
    public void The_front_door_id_parameter_sets_where_the_client_address_comes_from_and_the_app_starts_with_it(string frontDoorId, string mode)
    {
        var settings = AppSettings();
        var site = bicep.SingleResource(Sites);
        var main = bicep.Template["parameters"]?["frontDoorId"];
        var module = site.Template["parameters"]?["frontDoorId"];
        var given = new Dictionary<string, string> { ["frontDoorId"] = frontDoorId };

        // azd's AZURE_FRONT_DOOR_ID (unset = empty) reaches the module unchanged, as a secure value both times.
        Assert.Equal("${AZURE_FRONT_DOOR_ID}", (string?)bicep.ReadJsonFile("infra/main.parameters.json")["parameters"]?["frontDoorId"]?["value"]);
        Assert.Equal("", (string?)main?["defaultValue"]);
        Assert.Equal("securestring", (string?)main?["type"]);
        Assert.Equal("securestring", (string?)module?["type"]);
        Assert.Equal("[parameters('frontDoorId')]", site.ModuleArgument("frontDoorId"));

        // No id: connection mode and an empty id; an id: front-door mode with that id. The app accepts both and runs in that mode.
        var clientAddress = ArmExpression.Evaluate((string?)settings["Limits__ClientAddress"], given);
        var id = ArmExpression.Evaluate((string?)settings["Limits__FrontDoorId"], given);
        Assert.Equal(mode, clientAddress);
        Assert.Equal(frontDoorId, id);
        var limits = AbuseLimits.FromConfiguration(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Limits:ClientAddress"] = (string)clientAddress,
                ["Limits:FrontDoorId"] = (string)id,
            }).Build(),
            AuthOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(TestApp.DefaultSettings("UseDevelopmentStorage=true")).Build()));
        Assert.Equal(frontDoorId.Length == 0 ? ClientAddressSource.Connection : ClientAddressSource.FrontDoor, limits.ClientAddress);
        Assert.Equal(frontDoorId.Length > 0, limits.FrontDoorId?.Matches(frontDoorId) == true);
    }

    [Fact]
    public void Cors_allows_the_static_web_app_origin_and_never_a_wildcard()
    {
        var site = bicep.SingleResource(Sites);
        var cors = site.Properties["siteConfig"]?["cors"];
        var origins = site.ModuleArgument("allowedOrigins");
        var defaults = bicep.Template["parameters"]?["corsAllowedOrigins"]?["defaultValue"]?.AsArray() ?? [];
        var configured = bicep.ReadJsonFile("infra/main.parameters.json")["parameters"]?["corsAllowedOrigins"]?["value"]?.AsArray() ?? [];

        Assert.False((bool?)cors?["supportCredentials"]);
        Assert.Equal("[parameters('allowedOrigins')]", (string?)cors?["allowedOrigins"]);
        Assert.Contains("format('https://{0}', reference(", origins);
        Assert.Contains("'Microsoft.Resources/deployments', 'web')", origins);
        Assert.Contains(".outputs.defaultHostname.value", origins);
        Assert.DoesNotContain("*", origins);
        Assert.DoesNotContain(defaults.Concat(configured), o => ArmJson.Text(o).Contains('*', StringComparison.Ordinal));
    }

    [Fact]
    public void Key_vault_uses_rbac_with_soft_delete_and_purge_protection()
    {
        var vault = bicep.SingleResource(KeyVaults).Properties;

        Assert.True((bool?)vault["enableRbacAuthorization"]);
        Assert.True((bool?)vault["enableSoftDelete"]);
        Assert.True((bool?)vault["enablePurgeProtection"]);
        Assert.Empty(vault["accessPolicies"]?.AsArray() ?? []);
    }

    [Fact]
    public void No_output_is_derived_from_a_secure_parameter()
    {
        var templates = new[] { bicep.Template }
            .Concat(bicep.AllResources().Select(r => r.Resource["properties"]?["template"]).OfType<JsonObject>());

        Assert.Empty(templates.SelectMany(SecretLeaks));
    }
}
