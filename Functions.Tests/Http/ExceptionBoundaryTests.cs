using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Http;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Http;

public sealed class ExceptionBoundaryTests(AzuriteFixture azurite)
{
    private static async Task<TestResponse> HandleAsync(TestApp app, Exception exception)
    {
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();
        var result = app.Services.GetRequiredService<ExceptionBoundary>().Handle(exception, context, "Sample");
        await result.WriteAsync(context);
        return new TestResponse(context.Response.StatusCode, context.Response.Headers, context.Response.ContentType,
            System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()));
    }

    [Fact]
    public async Task Unexpected_exception_is_a_500_problem_without_internals()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await HandleAsync(app, new InvalidOperationException("secret table name Users at line 42"));

        Assert.Equal(500, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", response.Body, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(response.Json.GetProperty("traceId").GetString()));
        Assert.Contains(app.Logs.Entries, entry => entry.Exception is InvalidOperationException);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Storage_outage_is_a_503_problem_with_retry_after(int storageStatus)
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await HandleAsync(app, new AggregateException(new RequestFailedException(storageStatus, "down")));

        Assert.Equal(503, response.Status);
        Assert.Equal("5", response.Header("Retry-After"));
        Assert.DoesNotContain("down", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_client_error_is_not_mistaken_for_an_outage()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await HandleAsync(app, new RequestFailedException(400, "bad request"));

        Assert.Equal(500, response.Status);
    }

    [Fact]
    public async Task Unknown_route_is_404()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);

        var response = await app.GetAsync("/api/nothing-here");

        Assert.Equal(404, response.Status);
    }
}
