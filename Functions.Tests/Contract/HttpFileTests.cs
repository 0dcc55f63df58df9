using System.Text.RegularExpressions;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>Functions/Functions.http stays a complete tour of the API as the OpenAPI document describes it.</summary>
public sealed partial class HttpFileTests
{
    private static readonly List<(string Method, string Path)> Requests = Read();

    [Fact]
    public void The_http_file_sends_every_operation_of_the_document_and_no_other()
    {
        var documented = OpenApiContract.Served.Operations.ToHashSet();

        Assert.Equal(documented.OrderBy(o => o.Path).ThenBy(o => o.Method), Requests.Distinct().OrderBy(o => o.Path).ThenBy(o => o.Method));
    }

    [Fact]
    public void The_http_file_follows_a_session_from_signup_to_logout()
    {
        (string, string)[] order =
        [
            ("POST", "/auth/signup"), ("POST", "/auth/login"), ("GET", "/me"), ("POST", "/items"), ("GET", "/items"), ("GET", "/items/{id}"),
            ("PUT", "/items/{id}"), ("DELETE", "/items/{id}"), ("POST", "/auth/refresh"), ("POST", "/auth/logout"),
        ];

        var positions = order.Select(request => Requests.IndexOf(request)).ToList();

        Assert.DoesNotContain(-1, positions);
        Assert.Equal(positions.Order(), positions);
    }

    // "PUT {{baseUrl}}/items/{{createItem.response.body.$.id}}" is PUT /items/{id}.
    private static List<(string Method, string Path)> Read() =>
    [
        .. from line in File.ReadLines(RepositoryRoot.Combine("Functions", "Functions.http"))
           let match = RequestLine().Match(line)
           where match.Success
           select (match.Groups["method"].Value, PathVariable().Replace(match.Groups["path"].Value, "/{id}")),
    ];

    [GeneratedRegex(@"^(?<method>GET|POST|PUT|DELETE|PATCH) \{\{baseUrl\}\}(?<path>[^?\s]*)")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"/\{\{[^}]+\}\}")]
    private static partial Regex PathVariable();
}
