using System.Net;
using System.Text.Json;
using Azure.Core;
using Serverless.Functions.Mail;

namespace Serverless.Functions.Tests.Mail;

/// <summary>
/// The Azure Communication Services sender against a local stub of <c>emails:send</c> (an HttpListener on loopback):
/// the Entra token goes in the Authorization header (a fake credential is the double at that boundary), the body has the
/// REST API's shape, and anything but 202 is a failure the outbox retries.
/// </summary>
public sealed class AcsMailSenderTests : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Uri endpoint;

    public AcsMailSenderTests()
    {
        var port = FreePort();
        endpoint = new Uri($"http://127.0.0.1:{port}/");
        listener.Prefixes.Add(endpoint.ToString());
        listener.Start();
    }

    public void Dispose() => ((IDisposable)listener).Dispose();

    private AcsMailSender Sender(FakeCredential credential) => new(
        new MailOptions
        {
            PageOrigin = new Uri("https://page.example"),
            SenderAddress = "DoNotReply@mail.example",
            Acs = new AcsSettings(endpoint, null),
        },
        credential,
        new HttpClient());

    // The stub's next request, or the send's failure if it never sent one (a test that fails instead of hanging).
    private async Task<HttpListenerContext> NextRequestAsync(Task sending)
    {
        var next = listener.GetContextAsync();
        var first = await Task.WhenAny(next, sending, Task.Delay(TimeSpan.FromSeconds(30)));
        if (first != next)
        {
            await sending;
            Assert.Fail("The sender did not call the endpoint.");
        }

        return await next;
    }

    [Fact]
    public async Task Sends_the_mail_with_a_bearer_token_for_communication_services_and_the_documented_body()
    {
        var credential = new FakeCredential("entra-token-123");
        var sending = Sender(credential).SendAsync(new MailMessage("ada@example.com", "Subject", "plain", "<p>html</p>"), CancellationToken.None);

        var context = await NextRequestAsync(sending);
        var body = await new StreamReader(context.Request.InputStream).ReadToEndAsync();
        context.Response.StatusCode = 202;
        context.Response.Headers["Operation-Location"] = endpoint + "emails/operations/1?api-version=2023-03-31";
        context.Response.Close();
        await sending;

        Assert.Equal("POST", context.Request.HttpMethod);
        Assert.Equal("/emails:send", context.Request.Url!.AbsolutePath);
        Assert.Equal("api-version=2023-03-31", context.Request.Url.Query.TrimStart('?'));
        Assert.Equal("Bearer entra-token-123", context.Request.Headers["Authorization"]);
        Assert.Equal(["https://communication.azure.com/.default"], credential.RequestedScopes);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("DoNotReply@mail.example", root.GetProperty("senderAddress").GetString());
        Assert.Equal("Subject", root.GetProperty("content").GetProperty("subject").GetString());
        Assert.Equal("plain", root.GetProperty("content").GetProperty("plainText").GetString());
        Assert.Equal("<p>html</p>", root.GetProperty("content").GetProperty("html").GetString());
        Assert.Equal("ada@example.com", root.GetProperty("recipients").GetProperty("to")[0].GetProperty("address").GetString());
    }

    [Theory]
    [InlineData(401)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task Any_answer_but_202_is_a_failure(int status)
    {
        var sending = Sender(new FakeCredential("t")).SendAsync(new MailMessage("ada@example.com", "S", "p", "h"), CancellationToken.None);

        var context = await NextRequestAsync(sending);
        context.Response.StatusCode = status;
        context.Response.Close();

        await Assert.ThrowsAsync<HttpRequestException>(() => sending);
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private sealed class FakeCredential(string token) : TokenCredential
    {
        public string[] RequestedScopes { get; private set; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            RequestedScopes = requestContext.Scopes;
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
