using System.Text;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Requests as the host could hand them over but <see cref="TestApp"/> does not make: a body sent without a declared
/// length (chunked), through the same <see cref="FunctionDispatcher"/>.
/// </summary>
public static class RawRequests
{
    public static async Task<TestResponse> SendAsync(TestApp app, string method, string path, byte[] body, string? contentType,
        string? bearer, bool declareLength)
    {
        if (declareLength)
        {
            return await app.SendBytesAsync(method, path, body, contentType, bearer);
        }

        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = path;
        // As the worker's middleware leaves it: the client's address on the connection (TestApp.SendBytesAsync).
        context.Connection.RemoteIpAddress = TestApp.NextClientAddress();
        context.Request.Body = new MemoryStream(body);
        context.Request.Headers.TransferEncoding = "chunked";
        if (contentType is not null)
        {
            context.Request.ContentType = contentType;
        }

        if (bearer is not null)
        {
            context.Request.Headers.Authorization = "Bearer " + bearer;
        }

        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;
        await new FunctionDispatcher(app.Services).DispatchAsync(context);
        return new TestResponse(context.Response.StatusCode, context.Response.Headers, context.Response.ContentType,
            Encoding.UTF8.GetString(responseBody.ToArray()));
    }
}
