using System.Text.RegularExpressions;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>
/// docs/api.md, the API document for people, against what the host serves (functions.metadata) and the document for
/// tools (Functions/openapi.json): every route is headed <c>### `METHOD /api/route`</c> exactly once, both ways.
/// </summary>
public sealed partial class ApiDocumentTests
{
    private static readonly string DocumentPath = RepositoryRoot.Combine("docs", "api.md");

    [Fact]
    public void Every_route_the_host_serves_is_documented_for_people()
    {
        var documented = Headings().ToHashSet();

        var missing = Served().Where(route => !documented.Contains(route)).Select(r => $"{r.Method} {r.Path}").ToList();

        Assert.True(missing.Count == 0, "Served but not headed in docs/api.md:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void Every_route_documented_for_people_is_served_and_in_the_openapi_document()
    {
        var served = Served().ToHashSet();
        var inOpenApi = OpenApiContract.Served.Operations.Select(o => (o.Method, "/api" + o.Path)).ToHashSet();

        var problems = (from route in Headings()
                        let gaps = (served.Contains(route) ? "" : " not served") + (inOpenApi.Contains(route) ? "" : " not in openapi.json")
                        where gaps.Length > 0
                        select $"{route.Method} {route.Path}:{gaps}").ToList();

        Assert.True(problems.Count == 0, "Headed in docs/api.md but:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void The_openapi_document_and_the_document_for_people_list_the_same_routes()
    {
        var inOpenApi = OpenApiContract.Served.Operations.Select(o => $"{o.Method} /api{o.Path}").Order();

        Assert.Equal(inOpenApi, Headings().Select(r => $"{r.Method} {r.Path}").Order());
    }

    [Fact]
    public void Every_route_is_headed_once_and_every_route_heading_has_the_agreed_form()
    {
        var headings = Headings();
        Assert.NotEmpty(headings);
        Assert.Equal(headings.Distinct().Count(), headings.Count);

        // A heading that starts like a route but is not exactly "### `METHOD /api/route`" would silently drop out of the
        // comparison above, so it fails here instead.
        var malformed = File.ReadLines(DocumentPath)
            .Where(line => line.StartsWith("### `", StringComparison.Ordinal) && !RouteHeading().IsMatch(line))
            .ToList();
        Assert.True(malformed.Count == 0, "Route headings not of the form ### `METHOD /api/route`:\n" + string.Join('\n', malformed));
    }

    [Fact]
    public void The_document_names_every_problem_type_the_openapi_document_names()
    {
        var text = File.ReadAllText(DocumentPath);
        var types = ProblemType().Matches(File.ReadAllText(RepositoryRoot.Combine("Functions", "openapi.json")))
            .Select(m => m.Groups["code"].Value)
            .Distinct()
            .ToList();

        Assert.NotEmpty(types);
        var missing = types.Where(code => !text.Contains($"`{code}`", StringComparison.Ordinal) && !text.Contains($"errors/{code}", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "Problem types in openapi.json that docs/api.md does not explain: " + string.Join(", ", missing));
    }

    private static IEnumerable<(string Method, string Path)> Served() =>
        from function in FunctionsMetadata.Routes
        from method in function.Methods
        select (method.ToUpperInvariant(), "/api" + OpenApiDocumentTests.PathOf(function.Route));

    private static List<(string Method, string Path)> Headings() =>
    [
        .. from line in File.ReadLines(DocumentPath)
           let match = RouteHeading().Match(line)
           where match.Success
           select (match.Groups["method"].Value, match.Groups["path"].Value),
    ];

    [GeneratedRegex(@"^### `(?<method>GET|POST|PUT|PATCH|DELETE) (?<path>/api/[A-Za-z0-9._~{}/-]+)`$")]
    private static partial Regex RouteHeading();

    [GeneratedRegex(@"https://serverless\.example/errors/(?<code>[a-z-]+)")]
    private static partial Regex ProblemType();
}
