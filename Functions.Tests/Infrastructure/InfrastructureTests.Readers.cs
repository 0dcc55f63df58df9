using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Serverless.Functions.Tests.Infrastructure;

/// <summary>Readers of the compiled template the tests share: app settings, role assignments, tables, secure values, azure.yaml.</summary>
public sealed partial class InfrastructureTests
{
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
