using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Http;

namespace Serverless.Functions.Tests.Http;

public sealed class JsonBodyTests
{
    public sealed record Sample(string? Title, int? Count);

    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<Sample> SampleType =
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<Sample>)new JsonSerializerOptions(ApiJson.Default.Options)
        {
            TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        }.GetTypeInfo(typeof(Sample));

    private static async Task<(Body<Sample> Body, TestBody Problem)> ReadAsync(byte[]? body, string? contentType = "application/json", long? contentLength = null, bool declareLength = true)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(body ?? []);
        context.Request.ContentLength = declareLength ? contentLength ?? body?.Length : null;
        var result = await JsonBody.ReadAsync(context.Request, SampleType, TestContext.Current.CancellationToken);
        if (result.Problem is null)
        {
            return (result, new TestBody(0, default));
        }

        var response = new DefaultHttpContext();
        response.Response.Body = new MemoryStream();
        await result.Problem.WriteAsync(response);
        Assert.Equal("application/problem+json; charset=utf-8", response.Response.ContentType);
        return (result, new TestBody(response.Response.StatusCode, JsonDocument.Parse(((MemoryStream)response.Response.Body).ToArray()).RootElement));
    }

    public sealed record TestBody(int Status, JsonElement Json);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Valid_json_is_read()
    {
        var (body, _) = await ReadAsync(Utf8("""{"title":"a","count":2,"unknown":true}"""), "application/json; charset=utf-8");

        Assert.Equal(new Sample("a", 2), body.Value);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData(null)]
    public async Task Other_media_types_are_415(string? contentType)
    {
        var (_, problem) = await ReadAsync(Utf8("""{"title":"a"}"""), contentType);

        Assert.Equal(415, problem.Status);
    }

    [Fact]
    public async Task Declared_length_over_64_KiB_is_413_before_reading()
    {
        var (_, problem) = await ReadAsync([], contentLength: JsonBody.MaxBytes + 1);

        Assert.Equal(413, problem.Status);
    }

    [Fact]
    public async Task Undeclared_body_over_64_KiB_is_413()
    {
        var json = Utf8("{\"title\":\"" + new string('a', JsonBody.MaxBytes) + "\"}");

        var (_, problem) = await ReadAsync(json, declareLength: false);

        Assert.Equal(413, problem.Status);
    }

    [Fact]
    public async Task Body_of_exactly_64_KiB_is_accepted()
    {
        var prefix = "{\"title\":\"";
        var json = Utf8(prefix + new string('a', JsonBody.MaxBytes - prefix.Length - 2) + "\"}");
        Assert.Equal(JsonBody.MaxBytes, json.Length);

        var (body, _) = await ReadAsync(json);

        Assert.NotNull(body.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"title\":")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("{\"title\":\"a\",\"title\":\"b\"}")]
    [InlineData("{\"title\":\"\\uD800\"}")]
    public async Task Malformed_json_is_400_problem(string json)
    {
        var (_, problem) = await ReadAsync(Utf8(json));

        Assert.Equal(400, problem.Status);
        Assert.Equal(400, problem.Json.GetProperty("status").GetInt32());
        Assert.DoesNotContain("Exception", problem.Json.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_utf8_is_400_problem()
    {
        var (_, problem) = await ReadAsync([.. Utf8("{\"title\":\""), 0xFF, 0xFE, .. Utf8("\"}")]);

        Assert.Equal(400, problem.Status);
    }

    [Fact]
    public async Task Deep_nesting_is_400_problem()
    {
        var json = "{\"title\":\"a\",\"x\":" + new string('[', 100) + new string(']', 100) + "}";

        var (_, problem) = await ReadAsync(Utf8(json));

        Assert.Equal(400, problem.Status);
    }

    [Fact]
    public async Task Wrong_type_is_400_naming_the_field()
    {
        var (_, problem) = await ReadAsync(Utf8("""{"title":"a","count":"two"}"""));

        Assert.Equal(400, problem.Status);
        Assert.True(problem.Json.GetProperty("errors").TryGetProperty("count", out _), problem.Json.GetRawText());
    }
}
