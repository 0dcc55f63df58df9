using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Infrastructure;

/// <summary>Checks the ARM JSON that infra/main.bicep compiles to, plus azure.yaml and the parameters file.</summary>
public sealed partial class InfrastructureTests(BicepTemplateFixture bicep) : IClassFixture<BicepTemplateFixture>
{
    const string StorageAccounts = "Microsoft.Storage/storageAccounts";
    const string Sites = "Microsoft.Web/sites";
    const string KeyVaults = "Microsoft.KeyVault/vaults";
    const string ApplicationInsights = "Microsoft.Insights/components";
    const string RoleAssignments = "Microsoft.Authorization/roleAssignments";

    const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
    const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";

    static readonly string[] StoreTables = ["ClientLimits", "Items", "Outbox", "PasskeyChallenges", "PasskeyIds", "Users"];
    static readonly string[] AzdServices = ["api", "web"];
    static readonly string[] IdentityClientIdSettings = ["AzureWebJobsStorage__clientId", "Tables__clientId", "AZURE_CLIENT_ID"];
    static readonly string[] RequiredOutputs =
    [
        "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "API_BASE_URL",
        "WEB_URL", "AZURE_STATIC_WEB_APP_NAME", "AZURE_KEY_VAULT_NAME", "AZURE_STORAGE_ACCOUNT_NAME",
    ];

    [Fact]
    public void Bicep_build_succeeds_without_warnings_or_errors()
    {
        Assert.True(bicep.Build.ExitCode == 0, bicep.Build.StandardError);
        AssertNoDiagnostics(bicep.Build.StandardError);
    }

    [Fact]
    public void Bicep_lint_reports_no_warnings_or_errors()
    {
        Assert.True(bicep.Lint.ExitCode == 0, bicep.Lint.StandardOutput + bicep.Lint.StandardError);
        AssertNoDiagnostics(bicep.Lint.StandardOutput);
        AssertNoDiagnostics(bicep.Lint.StandardError);
    }

    [Fact]
    public void Compiled_template_never_uses_account_keys()
    {
        var json = ArmJson.Text(bicep.Template);

        Assert.DoesNotContain("AccountKey", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("listKeys(", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(ListFunctionCall(), json);
    }

    [Fact]
    public void Storage_account_disallows_shared_key_access()
    {
        var storage = bicep.SingleResource(StorageAccounts).Properties;

        Assert.False((bool?)storage["allowSharedKeyAccess"]);
    }

    [Fact]
    public void Storage_account_requires_tls_1_2_and_https_only()
    {
        var storage = bicep.SingleResource(StorageAccounts).Properties;

        Assert.Equal("TLS1_2", (string?)storage["minimumTlsVersion"]);
        Assert.True((bool?)storage["supportsHttpsTrafficOnly"]);
    }

    [Fact]
    public void Storage_account_disallows_public_blob_access()
    {
        var storage = bicep.SingleResource(StorageAccounts).Properties;
        var container = bicep.SingleResource("Microsoft.Storage/storageAccounts/blobServices/containers").Properties;

        Assert.False((bool?)storage["allowBlobPublicAccess"]);
        Assert.Equal("None", (string?)container["publicAccess"]);
    }

    [Fact]
    public void Storage_declares_one_table_per_store()
    {
        var names = bicep.ResourcesOfType("Microsoft.Storage/storageAccounts/tableServices/tables").SelectMany(TableNames);

        Assert.Equal(StoreTables, names.Order());
    }

    [Fact]
    public void Function_app_is_https_only_with_ftps_disabled_and_tls_1_2()
    {
        var site = bicep.SingleResource(Sites).Properties;

        Assert.True((bool?)site["httpsOnly"]);
        Assert.Equal("Disabled", (string?)site["siteConfig"]?["ftpsState"]);
        Assert.Equal("1.2", (string?)site["siteConfig"]?["minTlsVersion"]);
    }

    [Fact]
    public void Function_app_runs_dotnet_isolated_10_on_a_linux_flex_consumption_plan()
    {
        var plan = bicep.SingleResource("Microsoft.Web/serverfarms").Resource;
        var site = bicep.SingleResource(Sites);
        var runtime = site.Properties["functionAppConfig"]?["runtime"];

        Assert.Equal("FC1", (string?)plan["sku"]?["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]?["tier"]);
        Assert.True((bool?)plan["properties"]?["reserved"]);
        Assert.Equal("functionapp,linux", (string?)site.Resource["kind"]);
        Assert.Equal("dotnet-isolated", (string?)runtime?["name"]);
        Assert.Equal("10.0", (string?)runtime?["version"]);
    }

    [Fact]
    public void Function_app_runs_as_the_user_assigned_identity_only()
    {
        var site = bicep.SingleResource(Sites);
        var identity = site.Resource["identity"];
        var assigned = Assert.Single(identity?["userAssignedIdentities"]?.AsObject() ?? []);
        var identityParameter = ParameterReference().Match(assigned.Key).Value;

        Assert.Equal("UserAssigned", (string?)identity?["type"]);
        Assert.Equal("parameters('identityId')", identityParameter);
        Assert.Equal($"[{identityParameter}]", (string?)site.Properties["keyVaultReferenceIdentity"]);
        Assert.Contains("'Microsoft.Resources/deployments', 'identity')", site.ModuleArgument("identityId"));
        Assert.Contains(".outputs.id.value", site.ModuleArgument("identityId"));
    }

    [Fact]
    public void Function_app_pulls_its_package_from_the_private_container_with_its_identity()
    {
        var site = bicep.SingleResource(Sites);
        var container = bicep.SingleResource("Microsoft.Storage/storageAccounts/blobServices/containers");
        var storage = site.Properties["functionAppConfig"]?["deployment"]?["storage"];

        Assert.Equal("blobContainer", (string?)storage?["type"]);
        Assert.Contains("primaryEndpoints.blob", ArmJson.Text(storage?["value"]));
        Assert.Contains("parameters('deploymentContainerName')", ArmJson.Text(storage?["value"]));
        Assert.Contains("parameters('deploymentContainerName')", container.Name);
        Assert.Equal(container.ModuleArgument("deploymentContainerName"), site.ModuleArgument("deploymentContainerName"));
        Assert.Equal("UserAssignedIdentity", (string?)storage?["authentication"]?["type"]);
        Assert.Equal("[parameters('identityId')]", (string?)storage?["authentication"]?["userAssignedIdentityResourceId"]);
    }

    [Fact]
    public void App_settings_reach_storage_with_the_managed_identity_and_no_connection_string()
    {
        var settings = AppSettings();

        Assert.Equal("managedidentity", (string?)settings["AzureWebJobsStorage__credential"]);
        Assert.Contains("AzureWebJobsStorage__accountName", settings.Select(s => s.Key));
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Select(s => s.Key));
        Assert.Equal("managedidentity", (string?)settings["Tables__credential"]);
        Assert.Contains("primaryEndpoints.table", ArmJson.Text(settings["Tables__tableServiceUri"]));
        Assert.All(
            IdentityClientIdSettings,
            name => Assert.Equal("[parameters('identityClientId')]", (string?)settings[name]));
    }

    [Fact]
    public void App_settings_leave_runtime_selection_to_flex_consumption()
    {
        var names = AppSettings().Select(s => s.Key).ToList();

        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", names);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", names);
    }

    [Fact]
    public void Signing_key_setting_is_a_key_vault_reference_to_the_vault_secret()
    {
        var settings = AppSettings();
        var site = bicep.SingleResource(Sites);

        Assert.Contains("@Microsoft.KeyVault(SecretUri=", (string?)settings["Auth__SigningKey"]);
        Assert.Contains("parameters('signingKeyUri')", (string?)settings["Auth__SigningKey"]);
        Assert.Contains("'Microsoft.Resources/deployments', 'keyvault')", site.ModuleArgument("signingKeyUri"));
        Assert.Contains(".outputs.signingKeyUri.value", site.ModuleArgument("signingKeyUri"));
        Assert.Contains("Auth__Issuer", settings.Select(s => s.Key));
        Assert.Contains("Auth__Audience", settings.Select(s => s.Key));
    }

    [Fact]
    public void Previous_signing_key_setting_is_empty_or_a_reference_to_a_version_of_the_same_secret()
    {
        var previous = (string?)AppSettings()["Auth__PreviousSigningKey"];
        var site = bicep.SingleResource(Sites);
        var vault = bicep.SingleResource("Microsoft.KeyVault/vaults");
        var vaultOutput = ArmJson.Text(vault.Template["outputs"]?["previousSigningKeyUri"]?["value"]);
        var parametersFile = bicep.ReadJsonFile("infra/main.parameters.json")["parameters"];

        Assert.Contains("empty(parameters('previousSigningKeyUri'))", previous);
        Assert.Contains("@Microsoft.KeyVault(SecretUri=", previous);
        Assert.Contains(".outputs.previousSigningKeyUri.value", site.ModuleArgument("previousSigningKeyUri"));
        Assert.Contains("empty(parameters('previousSigningKeyVersion'))", vaultOutput);
        Assert.Contains("parameters('signingKeySecretName'))", vaultOutput);
        Assert.Contains(".secretUri, parameters('previousSigningKeyVersion'))", vaultOutput);
        Assert.Contains("parameters('previousSigningKeyVersion')", vault.ModuleArgument("previousSigningKeyVersion"));
        Assert.Equal("${AUTH_PREVIOUS_SIGNING_KEY_VERSION}", (string?)parametersFile?["previousSigningKeyVersion"]?["value"]);
        Assert.Equal("", (string?)bicep.Template["parameters"]?["previousSigningKeyVersion"]?["defaultValue"]);
    }

    [Fact]
    public void Identifier_hash_key_is_a_key_vault_reference_generated_once_and_always_read_back()
    {
        var settings = AppSettings();
        var site = bicep.SingleResource(Sites);
        var secret = Assert.Single(bicep.ResourcesOfType("Microsoft.KeyVault/vaults/secrets"), s => s.Name.Contains("identifierHashKeySecretName", StringComparison.Ordinal));
        var readBack = (string?)bicep.ReadJsonFile("infra/main.parameters.json")["parameters"]?["existingIdentifierHashKey"]?["value"];
        var secretName = (string?)bicep.Template["variables"]?["identifierHashKeySecretName"];
        var generated = ArmJson.Text(bicep.Template["parameters"]?["generatedIdentifierHashKey"]?["defaultValue"]);

        Assert.Contains("@Microsoft.KeyVault(SecretUri=", (string?)settings["Auth__IdentifierHashKey"]);
        Assert.Contains("parameters('identifierHashKeyUri')", (string?)settings["Auth__IdentifierHashKey"]);
        Assert.Contains(".outputs.identifierHashKeyUri.value", site.ModuleArgument("identifierHashKeyUri"));
        Assert.Equal("[parameters('identifierHashKey')]", (string?)secret.Properties["value"]);
        Assert.Equal("securestring", (string?)secret.Template["parameters"]?["identifierHashKey"]?["type"]);
        Assert.Equal($"$(secretOrRandomPassword ${{AZURE_KEY_VAULT_NAME}} {secretName})", readBack);
        Assert.True(Regex.Count(generated, @"newGuid\(\)") * 122 >= 256, generated);
    }

    [Fact]
    public void Signing_key_is_generated_once_and_read_back_from_the_vault_on_later_provisions()
    {
        var secret = Assert.Single(bicep.ResourcesOfType("Microsoft.KeyVault/vaults/secrets"), s => s.Name.Contains("signingKeySecretName", StringComparison.Ordinal));
        var parametersFile = bicep.ReadJsonFile("infra/main.parameters.json")["parameters"];
        var readBack = (string?)parametersFile?["existingSigningKey"]?["value"];
        var secretName = (string?)bicep.Template["variables"]?["signingKeySecretName"];
        var generated = ArmJson.Text(bicep.Template["parameters"]?["generatedSigningKey"]?["defaultValue"]);

        Assert.Equal("[parameters('signingKey')]", (string?)secret.Properties["value"]);
        Assert.Equal("securestring", (string?)secret.Template["parameters"]?["signingKey"]?["type"]);
        Assert.Equal($"$(secretOrRandomPassword ${{AZURE_KEY_VAULT_NAME}} {secretName})", readBack);
        Assert.Contains("AZURE_KEY_VAULT_NAME", bicep.Template["outputs"]!.AsObject().Select(o => o.Key));
        // Each version-4 GUID carries 122 random bits; HS256 wants at least 256.
        Assert.True(Regex.Count(generated, @"newGuid\(\)") * 122 >= 256, generated);
    }

    [Fact]
    public void Telemetry_goes_to_workspace_based_application_insights_with_entra_auth_only()
    {
        var insights = bicep.SingleResource(ApplicationInsights).Properties;
        var settings = AppSettings();

        Assert.True((bool?)insights["DisableLocalAuth"]);
        Assert.Contains("Microsoft.OperationalInsights/workspaces", ArmJson.Text(insights["WorkspaceResourceId"]));
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", settings.Select(s => s.Key));
        Assert.Contains("Authorization=AAD", (string?)settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
    }

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

    [Fact]
    public void Bicep_files_use_local_modules_only()
    {
        foreach (var file in Directory.EnumerateFiles(bicep.InfraDirectory, "*.bicep", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(file);

            Assert.DoesNotContain("br/public:", text, StringComparison.Ordinal);
            Assert.DoesNotContain("br:", text, StringComparison.Ordinal);
            Assert.All(
                ModuleSource().Matches(text).Select(m => m.Groups[1].Value),
                source => Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(file)!, source)), $"{file}: {source}"));
        }
    }

    [Fact]
    public void Azure_yaml_deploys_the_api_as_a_function_and_web_as_a_static_web_app()
    {
        var services = AzureYamlServices();

        Assert.Equal(AzdServices, services.Keys.Order());
        Assert.Equal("./Functions", services["api"].GetValueOrDefault("project"));
        Assert.Equal("dotnet", services["api"].GetValueOrDefault("language"));
        Assert.Equal("function", services["api"].GetValueOrDefault("host"));
        Assert.Equal("./web", services["web"].GetValueOrDefault("project"));
        Assert.Equal("staticwebapp", services["web"].GetValueOrDefault("host"));
        Assert.Equal(".", services["web"].GetValueOrDefault("dist"));
    }

    [Fact]
    public void Deployed_services_carry_the_azd_tags_azure_yaml_looks_for()
    {
        var site = bicep.SingleResource(Sites);
        var staticSite = bicep.SingleResource("Microsoft.Web/staticSites");
        var resourceGroup = bicep.SingleResource("Microsoft.Resources/resourceGroups");

        Assert.Contains("'azd-service-name', 'api'", ArmJson.Text(site.Resource["tags"]));
        Assert.Contains("'azd-service-name', 'web'", ArmJson.Text(staticSite.Resource["tags"]));
        Assert.Equal("[variables('tags')]", (string?)resourceGroup.Resource["tags"]);
        Assert.Equal("[parameters('environmentName')]", (string?)bicep.Template["variables"]?["tags"]?["azd-env-name"]);
    }

    [Fact]
    public void Parameters_file_maps_the_azd_environment_onto_declared_parameters()
    {
        var parameters = bicep.ReadJsonFile("infra/main.parameters.json")["parameters"]!.AsObject();
        var declared = bicep.Template["parameters"]!.AsObject();

        Assert.Equal("${AZURE_ENV_NAME}", (string?)parameters["environmentName"]?["value"]);
        Assert.Equal("${AZURE_LOCATION}", (string?)parameters["location"]?["value"]);
        Assert.Equal("${AZURE_PRINCIPAL_ID}", (string?)parameters["principalId"]?["value"]);
        Assert.All(parameters, p => Assert.True(declared.ContainsKey(p.Key), $"{p.Key} is not a parameter of main.bicep"));
    }

    [Fact]
    public void Outputs_name_every_resource_and_url_azd_and_the_frontend_need()
    {
        var outputs = bicep.Template["outputs"]!.AsObject();

        Assert.All(
            RequiredOutputs,
            name => Assert.True(outputs.ContainsKey(name), $"missing output {name}"));
        Assert.StartsWith("[format('https://{0}/api', ", (string?)outputs["API_BASE_URL"]?["value"]);
    }

    static void AssertNoDiagnostics(string output)
    {
        Assert.DoesNotContain("Warning", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Error", output, StringComparison.Ordinal);
    }

    JsonObject AppSettings() =>
        Assert.Single(bicep.ResourcesOfType("Microsoft.Web/sites/config"), c => c.Name.Contains("'appsettings'", StringComparison.Ordinal)).Properties;

    IEnumerable<ArmResource> RoleAssignmentsOf(Func<ArmResource, bool> principal) =>
        bicep.ResourcesOfType(RoleAssignments).Where(principal);

    // The module's principalId is the identity module's output...
    static bool IsFunctionAppIdentity(ArmResource assignment) =>
        assignment.ModuleArgument("principalId") is var principal
        && principal.Contains("'Microsoft.Resources/deployments', 'identity')", StringComparison.Ordinal)
        && principal.Contains(".outputs.principalId.value", StringComparison.Ordinal);

    // ...or main.bicep's principalId parameter (AZURE_PRINCIPAL_ID).
    static bool IsDeployingUser(ArmResource assignment) =>
        assignment.ModuleArgument("principalId") == "[parameters('principalId')]";

    static bool GrantsRole(ArmResource assignment, string roleId) =>
        assignment.Resolved((string?)assignment.Properties["roleDefinitionId"]) is var role
        && role.Contains("'Microsoft.Authorization/roleDefinitions'", StringComparison.Ordinal)
        && role.Contains($"'{roleId}'", StringComparison.Ordinal);

    // Scoped to the one resource, and named guid(scope, principal, role) so a re-deploy finds the same assignment.
    static void AssertScopedAndNamed(ArmResource assignment, string scopeType, string roleId)
    {
        var scope = (string?)assignment.Resource["scope"] ?? "";
        Assert.StartsWith($"[resourceId('{scopeType}', ", scope);
        Assert.Equal($"[guid({scope[1..^1]}, parameters('principalId'), '{roleId}')]", assignment.Resolved(assignment.Name));
        Assert.Equal("[parameters('principalId')]", (string?)assignment.Properties["principalId"]);
    }

    // A table is either one resource named with a literal, or a copy loop over a variable array.
    static IEnumerable<string> TableNames(ArmResource table)
    {
        var loop = Regex.Match(table.Name, @"variables\('(\w+)'\)\[copyIndex\(\)\]");
        return loop.Success
            ? table.Template["variables"]?[loop.Groups[1].Value]?.AsArray().Select(n => (string?)n ?? "") ?? []
            : [Regex.Match(table.Name, @"'(\w+)'\)\]$").Groups[1].Value];
    }

    // Secure parameters, and variables computed from them, must not reach an output, nor a module parameter that is not secure.
    static IEnumerable<string> SecretLeaks(JsonObject template)
    {
        var secure = (template["parameters"]?.AsObject() ?? [])
            .Where(p => ((string?)p.Value?["type"])?.StartsWith("secure", StringComparison.OrdinalIgnoreCase) == true)
            .Select(p => $"parameters('{p.Key}')")
            .ToList();
        var variables = template["variables"]?.AsObject() ?? [];
        for (var grew = true; grew;)
        {
            var derived = variables
                .Where(v => !secure.Contains($"variables('{v.Key}')") && ReadsAny(v.Value, secure))
                .Select(v => $"variables('{v.Key}')")
                .ToList();
            secure.AddRange(derived);
            grew = derived.Count > 0;
        }

        foreach (var output in template["outputs"]?.AsObject() ?? [])
        {
            if (ReadsAny(output.Value, secure))
            {
                yield return $"output {output.Key} reads a secure parameter";
            }
        }

        foreach (var deployment in ArmResource.Walk(template, null).Where(r => r.Template == template && r.Type == "Microsoft.Resources/deployments"))
        {
            foreach (var argument in deployment.Properties["parameters"]?.AsObject() ?? [])
            {
                var target = deployment.Properties["template"]?["parameters"]?[argument.Key];
                if (ReadsAny(argument.Value, secure) && ((string?)target?["type"])?.StartsWith("secure", StringComparison.OrdinalIgnoreCase) != true)
                {
                    yield return $"module {deployment.Name} gets a secure value in non-secure parameter {argument.Key}";
                }
            }
        }
    }

    static bool ReadsAny(JsonNode? node, IEnumerable<string> references) =>
        ArmJson.Text(node) is var text && references.Any(r => text.Contains(r, StringComparison.Ordinal));

    // A deliberately tiny reader for azure.yaml's services block: "name:" lines, then "key: value" lines one level deeper.
    Dictionary<string, Dictionary<string, string>> AzureYamlServices()
    {
        var services = new Dictionary<string, Dictionary<string, string>>();
        Dictionary<string, string>? current = null;
        int? serviceIndent = null, propertyIndent = null;
        var inServices = false;
        foreach (var raw in File.ReadLines(Path.Combine(bicep.RepositoryRoot, "azure.yaml")))
        {
            var line = raw.Split(" #")[0].TrimEnd();
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var indent = line.Length - line.TrimStart().Length;
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim().Trim('"', '\'');
            if (indent == 0)
            {
                inServices = key == "services";
            }
            else if (inServices && indent == (serviceIndent ??= indent))
            {
                services[key] = current = new();
                propertyIndent = null;
            }
            else if (inServices && current is not null && indent == (propertyIndent ??= indent))
            {
                current[key] = value;
            }
        }

        return services;
    }

    [GeneratedRegex(@"\blist\w*\(")]
    private static partial Regex ListFunctionCall();

    [GeneratedRegex(@"parameters\('\w+'\)")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"^\s*module\s+\w+\s+'([^']+)'", RegexOptions.Multiline)]
    private static partial Regex ModuleSource();
}
