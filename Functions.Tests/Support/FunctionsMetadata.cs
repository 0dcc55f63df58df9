using System.Reflection;
using System.Text.Json;

namespace Serverless.Functions.Tests.Support;

/// <summary>One HTTP function as the Functions host will serve it, from the build output's functions.metadata.</summary>
public sealed record MetadataRoute(string Name, string EntryPoint, string Route, string[] Methods, string AuthLevel);

/// <summary>The functions.metadata (and host.json) that the Worker SDK writes into the Functions build output.</summary>
public static class FunctionsMetadata
{
    private static readonly Lazy<IReadOnlyList<MetadataRoute>> Read = new(ReadRoutes);

    public static string OutputDirectory { get; } =
        typeof(FunctionsMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "FunctionsOutputDirectory").Value!;

    /// <summary>
    /// The build output the product starts the host in: <c>dotnet run</c>, the VS Code task and scripts/run-local.sh build
    /// Functions in Debug, whatever configuration the tests are built in (<see cref="OutputDirectory"/> is the output of the
    /// tests' own configuration: bin/Release/… under <c>dotnet test -c Release</c>). A full path, without a trailing slash.
    /// </summary>
    public static string RunOutputDirectory { get; } =
        RepositoryRoot.Combine("Functions", "bin", "Debug", Path.GetFileName(OutputDirectory.TrimEnd('/', '\\')));

    public static IReadOnlyList<MetadataRoute> Routes => Read.Value;

    /// <summary>Every function's name and the binding that triggers it (HTTP or not), as the host reads them.</summary>
    public static IReadOnlyList<(string Name, JsonElement Trigger)> Triggers()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(OutputDirectory, "functions.metadata")));
        return
        [
            .. from function in document.RootElement.EnumerateArray()
               select (function.GetProperty("name").GetString()!,
                   function.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal)).Clone()),
        ];
    }

    private static List<MetadataRoute> ReadRoutes()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(OutputDirectory, "functions.metadata")));
        return
        [
            .. from function in document.RootElement.EnumerateArray()
               let trigger = function.GetProperty("bindings").EnumerateArray().SingleOrDefault(b => b.GetProperty("type").GetString() == "httpTrigger")
               where trigger.ValueKind == JsonValueKind.Object
               select new MetadataRoute(
                   function.GetProperty("name").GetString()!,
                   function.GetProperty("entryPoint").GetString()!,
                   trigger.GetProperty("route").GetString()!,
                   [.. trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!)],
                   trigger.GetProperty("authLevel").GetString()!),
        ];
    }
}
