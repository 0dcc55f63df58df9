using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Serverless.Functions.OpenApi;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// The OpenAPI document exactly as the app serves it, read the way a client reads it: operations by method and path,
/// the response for a status (or <c>default</c>), its headers and its schema per content type. Schemas are evaluated as
/// JSON Schema 2020-12 by JsonSchema.Net, with every <c>$ref</c> resolved inside the document.
/// </summary>
public sealed class OpenApiContract
{
    private static readonly Uri DocumentUri = new("https://serverless.example/openapi.json");
    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private readonly BuildOptions buildOptions;

    public OpenApiContract(ReadOnlyMemory<byte> content)
    {
        using var document = JsonDocument.Parse(content);
        Root = document.RootElement.Clone();
        var registry = new SchemaRegistry();
        registry.Register(new JsonElementBaseDocument(Root, DocumentUri));
        buildOptions = new BuildOptions { SchemaRegistry = registry };
    }

    /// <summary>The document the app embeds and serves.</summary>
    public static OpenApiContract Served { get; } = new(new OpenApiDocument().Content);

    public JsonElement Root { get; }

    /// <summary>Every operation: upper-case method and the path as written under <c>paths</c> (e.g. <c>/items/{id}</c>).</summary>
    public IReadOnlyList<(string Method, string Path)> Operations =>
    [
        .. from path in Root.GetProperty("paths").EnumerateObject()
           from member in path.Value.EnumerateObject()
           where HttpMethods.Contains(member.Name)
           select (member.Name.ToUpperInvariant(), path.Name),
    ];

    public JsonElement? Operation(string method, string path) =>
        Root.GetProperty("paths").TryGetProperty(path, out var item) && item.TryGetProperty(method.ToLowerInvariant(), out var operation)
            ? operation
            : null;

    /// <summary>The documented response for a status: the status's own entry, else <c>default</c>.</summary>
    public (string Key, JsonElement Response)? Response(string method, string path, int status)
    {
        if (Operation(method, path) is not { } operation)
        {
            return null;
        }

        var responses = operation.GetProperty("responses");
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return responses.TryGetProperty(key, out var response) ? (key, Resolve(response))
            : responses.TryGetProperty("default", out var fallback) ? ("default", Resolve(fallback))
            : null;
    }

    /// <summary>Follows a <c>$ref</c> to a component of this document (responses, headers, parameters).</summary>
    public JsonElement Resolve(JsonElement element)
    {
        while (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("$ref", out var reference))
        {
            element = Root;
            foreach (var segment in reference.GetString()!.TrimStart('#', '/').Split('/'))
            {
                element = element.GetProperty(segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
            }
        }

        return element;
    }

    /// <summary>Evaluates an instance against a schema of this document; the messages say where and why it fails.</summary>
    public IReadOnlyList<string> Validate(JsonElement schema, JsonElement instance)
    {
        // The schema is built on its own URI, so its "#/components/..." references are made absolute to the document first.
        var node = JsonNode.Parse(schema.GetRawText())!;
        PointReferencesAtDocument(node);
        var built = JsonSchema.Build(JsonSerializer.SerializeToElement(node), buildOptions, new Uri($"https://serverless.example/checks/{Guid.NewGuid():N}"));
        var results = built.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        var errors = new List<string>();
        foreach (var detail in (IEnumerable<EvaluationResults>?)results.Details ?? [results])
        {
            foreach (var (_, error) in detail.Errors ?? new Dictionary<string, string>())
            {
                errors.Add($"{detail.InstanceLocation} ({detail.EvaluationPath}): {error}");
            }
        }

        return errors.Count > 0 ? errors : [$"{instance.GetRawText()} does not match the schema"];
    }

    /// <summary>Everything about one response that the document does not allow; empty when it matches.</summary>
    public IReadOnlyList<string> Mismatches(string method, string path, TestResponse response)
    {
        if (Response(method, path, response.Status) is not { } found)
        {
            return [$"{method} {path} answered {response.Status}, which the document does not list."];
        }

        var (key, documented) = found;

        var problems = new List<string>();
        CheckHeaders(documented, response, problems);
        var hasBody = response.Body.Length > 0;
        if (!documented.TryGetProperty("content", out var content))
        {
            if (hasBody)
            {
                problems.Add($"The document gives response {key} no body, but one came: {response.Body}");
            }

            return problems;
        }

        var mediaType = response.ContentType?.Split(';')[0].Trim() ?? "";
        if (!hasBody || !content.TryGetProperty(mediaType, out var media))
        {
            problems.Add($"Response {key} is documented as {string.Join(", ", content.EnumerateObject().Select(m => m.Name))}; "
                + $"the body came as '{response.ContentType}' ({response.Body.Length} characters).");
            return problems;
        }

        using var body = JsonDocument.Parse(response.Body);
        problems.AddRange(Validate(media.GetProperty("schema"), body.RootElement).Select(error => $"Response {key} {mediaType}: {error}"));
        return problems;
    }

    private void CheckHeaders(JsonElement documented, TestResponse response, List<string> problems)
    {
        if (!documented.TryGetProperty("headers", out var headers))
        {
            return;
        }

        foreach (var header in headers.EnumerateObject())
        {
            var spec = Resolve(header.Value);
            var value = response.Header(header.Name);
            if (value is null)
            {
                if (spec.TryGetProperty("required", out var required) && required.GetBoolean())
                {
                    problems.Add($"Header {header.Name} is documented as required but was not sent.");
                }

                continue;
            }

            problems.AddRange(Validate(spec.GetProperty("schema"), JsonSerializer.SerializeToElement(value)).Select(error => $"Header {header.Name}: {error}"));
        }
    }

    private static void PointReferencesAtDocument(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["$ref"] is JsonValue reference && reference.GetValue<string>() is { } target && target.StartsWith('#'))
                {
                    obj["$ref"] = DocumentUri + target;
                }

                foreach (var (_, child) in obj.ToList())
                {
                    PointReferencesAtDocument(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    PointReferencesAtDocument(child);
                }

                break;
        }
    }
}
