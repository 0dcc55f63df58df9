using Serverless.Functions.OpenApi;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

public sealed class OpenApiFunctionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task The_document_is_served_without_a_token_and_is_cacheable()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await app.GetAsync("/api/openapi.json");

        Assert.Equal(200, response.Status);
        Assert.Equal("application/json; charset=utf-8", response.ContentType);
        Assert.Equal(OpenApiFunction.CacheControl, response.Header("Cache-Control"));
        Assert.Matches("^\"[0-9a-f]{32}\"$", response.Header("ETag"));
        Assert.Equal(System.Text.Encoding.UTF8.GetString(new OpenApiDocument().Content.Span), response.Body);
    }

    [Theory]
    [InlineData("{0}")]
    [InlineData("W/{0}")]
    [InlineData("\"older\", {0}")]
    [InlineData("*")]
    public async Task An_If_None_Match_naming_the_current_version_answers_304_without_a_body(string ifNoneMatch)
    {
        await using var app = TestApp.Create(azurite.ConnectionString);
        var etag = (await app.GetAsync("/api/openapi.json")).Header("ETag")!;

        var response = await app.SendAsync("GET", "/api/openapi.json",
            headers: new Dictionary<string, string> { ["If-None-Match"] = string.Format(System.Globalization.CultureInfo.InvariantCulture, ifNoneMatch, etag) });

        Assert.Equal(304, response.Status);
        Assert.Equal("", response.Body);
        Assert.Equal(etag, response.Header("ETag"));
        Assert.Equal(OpenApiFunction.CacheControl, response.Header("Cache-Control"));
    }

    [Fact]
    public async Task An_If_None_Match_naming_another_version_gets_the_document()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await app.SendAsync("GET", "/api/openapi.json", headers: new Dictionary<string, string> { ["If-None-Match"] = "\"0123\"" });

        Assert.Equal(200, response.Status);
        Assert.NotEmpty(response.Body);
    }
}
