using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Functions.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Serverless.Functions.Tests.Repository;

/// <summary>
/// .vscode/, .devcontainer/ and .github/workflows/: each parses, and names commands, tasks, folders and settings that
/// exist in this repository. What only VS Code, a container build or GitHub can run is not run here.
/// </summary>
public sealed partial class EditorAndCloudFilesTests
{
    private static readonly JsonDocumentOptions JsonWithComments = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly string TargetFramework =
        TargetFrameworkElement().Match(File.ReadAllText(RepositoryRoot.Combine("Functions", "Functions.csproj"))).Groups[1].Value;

    [Fact]
    public void Vscode_settings_point_the_functions_extension_at_the_isolated_csharp_project_and_its_publish_output()
    {
        var settings = ReadJson(".vscode", "settings.json").RootElement;
        var project = settings.GetProperty("azureFunctions.projectSubpath").GetString()!;

        Assert.True(File.Exists(RepositoryRoot.Combine(project, "Functions.csproj")), $"{project} holds no Functions.csproj");
        Assert.Equal("C#", settings.GetProperty("azureFunctions.projectLanguage").GetString());
        Assert.Equal("~4", settings.GetProperty("azureFunctions.projectRuntime").GetString());
        Assert.Equal($"{project}/bin/Release/{TargetFramework}/publish", settings.GetProperty("azureFunctions.deploySubpath").GetString());
        Assert.False(string.IsNullOrEmpty(settings.GetProperty("azureFunctions.templateFilter").GetString()));

        var publish = Task(settings.GetProperty("azureFunctions.preDeployTask").GetString()!);
        Assert.Equal("dotnet", publish.GetProperty("command").GetString());
        var args = publish.GetProperty("args").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Equal("publish", args[0]);
        Assert.Equal("Release", args[args.IndexOf("--configuration") + 1]);
        Assert.Equal("${workspaceFolder}/" + project, publish.GetProperty("options").GetProperty("cwd").GetString());
    }

    [Fact]
    public void Vscode_launch_attaches_to_the_worker_the_functions_extension_picks()
    {
        var configurations = ReadJson(".vscode", "launch.json").RootElement.GetProperty("configurations").EnumerateArray().ToList();

        var attach = Assert.Single(configurations, c => c.GetProperty("name").GetString() == "Attach to .NET Functions");
        Assert.Equal("coreclr", attach.GetProperty("type").GetString());
        Assert.Equal("attach", attach.GetProperty("request").GetString());
        Assert.Equal("${command:azureFunctions.pickProcess}", attach.GetProperty("processId").GetString());
    }

    [Fact]
    public void Vscode_func_task_builds_first_and_starts_the_host_in_the_build_output()
    {
        var func = Assert.Single(Tasks(), t => t.GetProperty("type").GetString() == "func");

        Assert.Equal("host start", func.GetProperty("command").GetString());
        Assert.True(func.GetProperty("isBackground").GetBoolean());
        Assert.Equal("$func-dotnet-watch", func.GetProperty("problemMatcher").GetString());
        var build = Task(func.GetProperty("dependsOn").GetString()!);
        Assert.True(IsDebugBuildOfFunctions(build), build.GetRawText());
        // The output of that Debug build, whatever configuration these tests were built in.
        Assert.Equal(FunctionsMetadata.RunOutputDirectory, Resolve(func.GetProperty("options").GetProperty("cwd").GetString()!));
        // The build puts host.json into its output, as it did for the configuration these tests stand on.
        Assert.True(File.Exists(Path.Combine(FunctionsMetadata.OutputDirectory, "host.json")));
    }

    [Fact]
    public async Task Vscode_tasks_depend_only_on_tasks_that_exist_and_run_in_folders_and_with_tools_that_exist()
    {
        var labels = Tasks().Where(t => t.TryGetProperty("label", out _)).Select(t => t.GetProperty("label").GetString()).ToHashSet();
        await TestTools.NpmPackages.EnsureAsync(); // the tools that npm ci installs, as a developer's checkout has them

        foreach (var task in Tasks())
        {
            if (task.TryGetProperty("dependsOn", out var dependsOn))
            {
                Assert.Contains(dependsOn.GetString(), labels);
            }

            var cwd = Resolve(task.GetProperty("options").GetProperty("cwd").GetString()!);
            if (cwd == FunctionsMetadata.RunOutputDirectory)
            {
                // The Debug build output, which the build the task depends on makes (absent when only a Release build ran).
                Assert.True(dependsOn.ValueKind == JsonValueKind.String && IsDebugBuildOfFunctions(Task(dependsOn.GetString()!)), task.GetRawText());
            }
            else
            {
                Assert.True(Directory.Exists(cwd), task.GetRawText());
            }

            var command = task.TryGetProperty("command", out var c) ? c.GetString()! : "";
            if (command.StartsWith("${workspaceFolder}", StringComparison.Ordinal))
            {
                Assert.True(File.Exists(Resolve(command)), $"{command} does not exist (npm ci installs it)");
            }
        }

        Assert.Contains("ms-azuretools.vscode-azurefunctions", ReadJson(".vscode", "extensions.json").RootElement.GetProperty("recommendations").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Devcontainer_has_the_sdk_of_global_json_node_lts_the_npm_tools_and_forwards_the_local_ports()
    {
        var container = ReadJson(".devcontainer", "devcontainer.json").RootElement;
        using var globalJson = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("global.json")));
        var sdkMajor = globalJson.RootElement.GetProperty("sdk").GetProperty("version").GetString()!.Split('.')[0];
        var features = container.GetProperty("features");

        Assert.StartsWith(sdkMajor + ".", features.GetProperty("ghcr.io/devcontainers/features/dotnet:2").GetProperty("version").GetString(), StringComparison.Ordinal);
        Assert.Equal($"net{sdkMajor}.0", TargetFramework);
        Assert.Equal("lts", features.GetProperty("ghcr.io/devcontainers/features/node:1").GetProperty("version").GetString());
        Assert.Contains(features.EnumerateObject(), f => f.Name.Contains("azd", StringComparison.Ordinal));
        var postCreate = container.GetProperty("postCreateCommand").GetString()!;
        Assert.Contains("npm ci", postCreate, StringComparison.Ordinal);
        Assert.Contains("chromium", postCreate, StringComparison.Ordinal);
        Assert.Contains("dotnet restore Serverless.sln", postCreate, StringComparison.Ordinal);

        using var settings = JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine("local.settings.json.example")));
        var host = settings.RootElement.GetProperty("Host");
        var corsPorts = host.GetProperty("CORS").GetString()!.Split(',').Select(origin => new Uri(origin.Trim()).Port);
        var forwarded = container.GetProperty("forwardPorts").EnumerateArray().Select(p => p.GetInt32()).ToHashSet();
        Assert.Superset(new HashSet<int>([host.GetProperty("LocalHttpPort").GetInt32(), .. corsPorts, 10000, 10001, 10002]), forwarded);
    }

    [Fact]
    public void Ci_workflow_runs_the_repository_s_ci_script_with_ci_set()
    {
        var workflow = ReadYaml("ci.yml");
        var steps = Steps(workflow, "ci");

        Assert.True(File.Exists(RepositoryRoot.Combine(".ci", "run")));
        var run = Assert.Single(steps, s => Scalar(s, "run") == "bash .ci/run");
        Assert.Equal("true", Scalar((YamlMappingNode)run.Children[new YamlScalarNode("env")], "CI"));
        Assert.Contains(steps, s => Scalar(s, "uses")?.StartsWith("actions/checkout@", StringComparison.Ordinal) == true);
        var on = (YamlMappingNode)workflow.Children[new YamlScalarNode("on")];
        Assert.Contains(new YamlScalarNode("pull_request"), on.Children.Keys);
    }

    [Fact]
    public void Deploy_workflow_signs_in_with_federated_credentials_and_runs_azd_without_prompts_or_secrets()
    {
        var workflow = ReadYaml("azure-dev.yml");
        var permissions = (YamlMappingNode)workflow.Children[new YamlScalarNode("permissions")];
        var job = Job(workflow, "deploy");
        var env = (YamlMappingNode)job.Children[new YamlScalarNode("env")];
        var runs = Steps(workflow, "deploy").Select(s => Scalar(s, "run")).OfType<string>().ToList();

        Assert.Equal("write", Scalar(permissions, "id-token"));
        foreach (var name in new[] { "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME", "AZURE_LOCATION" })
        {
            Assert.Equal($"${{{{ vars.{name} }}}}", Scalar(env, name));
        }

        Assert.DoesNotContain("secrets.", File.ReadAllText(WorkflowPath("azure-dev.yml")), StringComparison.Ordinal);
        Assert.Contains(runs, r => r.Contains("azd auth login", StringComparison.Ordinal)
            && r.Contains("--client-id \"$AZURE_CLIENT_ID\"", StringComparison.Ordinal)
            && r.Contains("--federated-credential-provider \"github\"", StringComparison.Ordinal)
            && r.Contains("--tenant-id \"$AZURE_TENANT_ID\"", StringComparison.Ordinal));
        Assert.Contains("azd provision --no-prompt", runs);
        Assert.Contains("azd deploy --no-prompt", runs);
        Assert.True(runs.IndexOf("azd provision --no-prompt") < runs.IndexOf("azd deploy --no-prompt"));
        Assert.True(File.Exists(RepositoryRoot.Combine("azure.yaml")));
        Assert.Contains("${AZURE_PRINCIPAL_TYPE", File.ReadAllText(RepositoryRoot.Combine("infra", "main.parameters.json")), StringComparison.Ordinal);
        Assert.Equal("ServicePrincipal", Scalar(env, "AZURE_PRINCIPAL_TYPE"));
    }

    [Fact]
    public void Every_action_a_workflow_uses_is_pinned_to_a_version_and_every_file_it_names_exists()
    {
        foreach (var file in new[] { "ci.yml", "azure-dev.yml" })
        {
            var workflow = ReadYaml(file);
            var jobs = (YamlMappingNode)workflow.Children[new YamlScalarNode("jobs")];
            foreach (var (name, _) in jobs.Children)
            {
                foreach (var step in Steps(workflow, ((YamlScalarNode)name).Value!))
                {
                    if (Scalar(step, "uses") is { } uses)
                    {
                        Assert.Matches(@"^[\w.-]+/[\w.-]+@v\d+$", uses);
                    }

                    if (step.Children.TryGetValue(new YamlScalarNode("with"), out var with) && Scalar((YamlMappingNode)with, "global-json-file") is { } globalJson)
                    {
                        Assert.True(File.Exists(RepositoryRoot.Combine(globalJson)), $"{file}: {globalJson}");
                    }
                }
            }
        }
    }

    private static JsonDocument ReadJson(params string[] path) => JsonDocument.Parse(File.ReadAllText(RepositoryRoot.Combine(path)), JsonWithComments);

    private static List<JsonElement> Tasks() => [.. ReadJson(".vscode", "tasks.json").RootElement.GetProperty("tasks").EnumerateArray()];

    private static JsonElement Task(string label) => Assert.Single(Tasks(), t => t.TryGetProperty("label", out var l) && l.GetString() == label);

    /// <summary>A <c>dotnet build</c> of the Functions project without a configuration, that is a Debug build.</summary>
    private static bool IsDebugBuildOfFunctions(JsonElement task)
    {
        var args = task.GetProperty("args").EnumerateArray().Select(a => a.GetString()).ToList();
        return task.GetProperty("command").GetString() == "dotnet" && args.FirstOrDefault() == "build"
            && !args.Any(a => a is "-c" or "--configuration" || a!.StartsWith("-p:Configuration", StringComparison.OrdinalIgnoreCase) || a.StartsWith("/property:Configuration", StringComparison.OrdinalIgnoreCase))
            && Resolve(task.GetProperty("options").GetProperty("cwd").GetString()!) == RepositoryRoot.Combine("Functions");
    }

    private static string Resolve(string vscodePath) =>
        Path.GetFullPath(vscodePath.Replace("${workspaceFolder}", RepositoryRoot.Path, StringComparison.Ordinal)).TrimEnd('/');

    private static string WorkflowPath(string file) => RepositoryRoot.Combine(".github", "workflows", file);

    private static YamlMappingNode ReadYaml(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(WorkflowPath(file)));
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static YamlMappingNode Job(YamlMappingNode workflow, string name) =>
        (YamlMappingNode)((YamlMappingNode)workflow.Children[new YamlScalarNode("jobs")]).Children[new YamlScalarNode(name)];

    private static List<YamlMappingNode> Steps(YamlMappingNode workflow, string job) =>
        [.. ((YamlSequenceNode)Job(workflow, job).Children[new YamlScalarNode("steps")]).Children.Cast<YamlMappingNode>()];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value?.TrimEnd('\n') : null;

    [GeneratedRegex("<TargetFramework>([^<]+)</TargetFramework>")]
    private static partial Regex TargetFrameworkElement();
}
