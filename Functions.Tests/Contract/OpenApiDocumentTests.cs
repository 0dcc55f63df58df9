using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Functions.Http;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>The OpenAPI document against the routes the host serves and against itself.</summary>
public sealed partial class OpenApiDocumentTests
{
    private static readonly OpenApiContract Document = OpenApiContract.Served;

    [Fact]
    public void Every_route_in_the_metadata_is_in_the_openapi_document()
    {
        var documented = Document.Operations.ToHashSet();

        var missing = (from function in FunctionsMetadata.Routes
                       from method in function.Methods
                       let operation = (method.ToUpperInvariant(), PathOf(function.Route))
                       where !documented.Contains(operation)
                       select $"{operation.Item1} {operation.Item2} ({function.Name})").ToList();

        Assert.True(missing.Count == 0, "Served but not documented:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void Every_operation_in_the_openapi_document_is_a_route_in_the_metadata()
    {
        var served = FunctionsMetadata.Routes.SelectMany(f => f.Methods.Select(m => (m.ToUpperInvariant(), PathOf(f.Route)))).ToHashSet();

        var missing = Document.Operations.Where(operation => !served.Contains(operation)).Select(o => $"{o.Method} {o.Path}").ToList();

        Assert.True(missing.Count == 0, "Documented but not served:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void Operations_need_the_bearer_token_exactly_when_their_function_does()
    {
        foreach (var function in FunctionRoute.All)
        {
            foreach (var method in function.Methods)
            {
                var operation = Document.Operation(method, PathOf(function.Route))
                    ?? throw new Xunit.Sdk.XunitException($"{method} {function.Route} is not in the document.");
                var security = operation.TryGetProperty("security", out var own) ? own : Document.Root.GetProperty("security");
                var needsToken = security.EnumerateArray().Any(requirement => requirement.TryGetProperty("bearer", out _));

                Assert.True(needsToken != FunctionAccess.AllowsAnonymous(function.Method), $"{method} {function.Route}: document says token {needsToken}");
            }
        }
    }

    [Fact]
    public void The_document_is_openapi_3_1_with_json_schema_2020_12()
    {
        Assert.StartsWith("3.1.", Document.Root.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", Document.Root.GetProperty("jsonSchemaDialect").GetString());
        Assert.Equal("1", Document.Root.GetProperty("info").GetProperty("version").GetString());
    }

    [Fact]
    public void The_document_reads_as_openapi_3_1_without_errors_or_rule_violations()
    {
        var text = System.Text.Encoding.UTF8.GetString(new Functions.OpenApi.OpenApiDocument().Content.Span);

        var read = Microsoft.OpenApi.OpenApiDocument.Parse(text, "json");

        Assert.Empty(read.Diagnostic!.Errors);
        Assert.Empty(read.Diagnostic.Warnings);
        Assert.Equal(Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_1, read.Diagnostic.SpecificationVersion);
        Assert.Empty(Microsoft.OpenApi.OpenApiElementExtensions.Validate(read.Document!, Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet()) ?? []);
    }

    [Fact]
    public void Every_example_in_the_document_matches_its_schema()
    {
        var checkedExamples = 0;
        var problems = new List<string>();
        foreach (var (location, schema, example) in Examples(Document.Root, "#"))
        {
            checkedExamples++;
            problems.AddRange(Document.Validate(schema, example).Select(problem => $"{location}: {problem}"));
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(checkedExamples > 40, $"only {checkedExamples} examples found");
    }

    [Fact]
    public void The_served_document_is_the_one_in_the_repository()
    {
        var inRepository = File.ReadAllBytes(RepositoryRoot.Combine("Functions", "openapi.json"));

        Assert.Equal(inRepository, new Functions.OpenApi.OpenApiDocument().Content.ToArray());
    }

    [Fact]
    public void The_document_holds_no_secrets_or_internal_details()
    {
        var text = System.Text.Encoding.UTF8.GetString(new Functions.OpenApi.OpenApiDocument().Content.Span);
        string[] forbidden =
        [
            "DEVELOPMENT-ONLY", TestApp.TestSigningKey, "AccountKey", "SharedAccessSignature", "InstrumentationKey", "UseDevelopmentStorage",
            "devstoreaccount1", "SigningKey", "PartitionKey", "RowKey", "argon2", "StackTrace",
        ];

        foreach (var secret in forbidden)
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>Route template as an OpenAPI path: "items/{id:guid}" is "/items/{id}".</summary>
    public static string PathOf(string route) => "/" + RouteParameter().Replace(route, "{$1}");

    // Schema "examples" arrays, and the "examples" of media types (each with a "value") checked against their media type's schema.
    private static IEnumerable<(string Location, JsonElement Schema, JsonElement Example)> Examples(JsonElement element, string location)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var child in element.EnumerateArray())
            {
                foreach (var found in Examples(child, $"{location}/{index++}"))
                {
                    yield return found;
                }
            }
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        if (element.TryGetProperty("examples", out var examples))
        {
            if (examples.ValueKind == JsonValueKind.Array && !element.TryGetProperty("in", out _))
            {
                foreach (var example in examples.EnumerateArray())
                {
                    yield return (location, element, example);
                }
            }
            else if (examples.ValueKind == JsonValueKind.Object && element.TryGetProperty("schema", out var schema))
            {
                foreach (var example in examples.EnumerateObject())
                {
                    yield return ($"{location}/examples/{example.Name}", schema, Document.Resolve(example.Value).GetProperty("value"));
                }
            }
        }

        foreach (var property in element.EnumerateObject().Where(property => property.Name != "examples"))
        {
            foreach (var found in Examples(property.Value, $"{location}/{property.Name.Replace("/", "~1", StringComparison.Ordinal)}"))
            {
                yield return found;
            }
        }
    }

    [GeneratedRegex(@"\{\*?([A-Za-z0-9_]+)[^}]*\}")]
    private static partial Regex RouteParameter();
}
