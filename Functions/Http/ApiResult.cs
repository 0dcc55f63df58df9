using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Serverless.Functions.Http;

/// <summary>
/// A response that writes itself straight to the <see cref="HttpContext"/> with source-generated JSON,
/// so it runs the same under the Functions host, in tests and in the Kestrel adapter, without MVC formatters.
/// </summary>
public sealed class ApiResult : IActionResult
{
    private readonly Func<Stream, CancellationToken, Task>? writeBody;

    private ApiResult(int statusCode, string? contentType, Func<Stream, CancellationToken, Task>? writeBody)
    {
        StatusCode = statusCode;
        ContentType = contentType;
        this.writeBody = writeBody;
    }

    public int StatusCode { get; }

    public string? ContentType { get; }

    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static ApiResult Json<T>(int statusCode, T body, JsonTypeInfo<T> typeInfo, string contentType = "application/json; charset=utf-8") =>
        new(statusCode, contentType, (stream, ct) => JsonSerializer.SerializeAsync(stream, body, typeInfo, ct));

    /// <summary>Bytes written as they are, for a body that is already serialized (a document embedded in the assembly).</summary>
    public static ApiResult Bytes(int statusCode, ReadOnlyMemory<byte> body, string contentType) =>
        new(statusCode, contentType, (stream, ct) => stream.WriteAsync(body, ct).AsTask());

    public static ApiResult Empty(int statusCode) => new(statusCode, null, null);

    public ApiResult WithHeader(string name, string value)
    {
        Headers[name] = value;
        return this;
    }

    public Task ExecuteResultAsync(ActionContext context) => WriteAsync(context.HttpContext);

    public async Task WriteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCode;

        // Browsers hide these from a page on another origin unless told, and the frontend needs them (If-Match, waits).
        response.Headers.AccessControlExposeHeaders = "ETag, Location, Retry-After, WWW-Authenticate";
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        if (writeBody is null)
        {
            return;
        }

        response.ContentType = ContentType;
        await writeBody(response.Body, httpContext.RequestAborted);
    }
}
