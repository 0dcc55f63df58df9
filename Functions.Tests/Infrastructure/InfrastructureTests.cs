using System.Text.RegularExpressions;

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
    public void Totp_secret_key_is_a_key_vault_reference_read_back_and_rotatable_like_the_signing_key()
    {
        var settings = AppSettings();
        var site = bicep.SingleResource(Sites);
        var vault = bicep.SingleResource("Microsoft.KeyVault/vaults");
        var parametersFile = bicep.ReadJsonFile("infra/main.parameters.json")["parameters"];

        Assert.Contains("@Microsoft.KeyVault(SecretUri=", (string?)settings["Auth__TotpSecretKey"]);
        Assert.Contains("parameters('totpKeyUri')", (string?)settings["Auth__TotpSecretKey"]);
        Assert.Contains(".outputs.totpKeyUri.value", site.ModuleArgument("totpKeyUri"));
        Assert.Contains("empty(parameters('previousTotpKeyUri'))", (string?)settings["Auth__PreviousTotpSecretKey"]);
        Assert.Contains(".outputs.previousTotpKeyUri.value", site.ModuleArgument("previousTotpKeyUri"));
        Assert.Contains(".secretUri, parameters('previousTotpKeyVersion'))", ArmJson.Text(vault.Template["outputs"]?["previousTotpKeyUri"]?["value"]));
        Assert.Contains("auth-totp-secret-key", (string?)parametersFile?["existingTotpSecretKey"]?["value"]);
        Assert.Equal("${AUTH_PREVIOUS_TOTP_KEY_VERSION}", (string?)parametersFile?["previousTotpKeyVersion"]?["value"]);
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
}
