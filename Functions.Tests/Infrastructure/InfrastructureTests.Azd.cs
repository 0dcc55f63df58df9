
namespace Serverless.Functions.Tests.Infrastructure;

/// <summary>What azd reads beside the template: local modules, azure.yaml, the parameters file, the outputs.</summary>
public sealed partial class InfrastructureTests
{
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
}
