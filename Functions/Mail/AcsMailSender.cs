using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Azure.Core;

namespace Serverless.Functions.Mail;

/// <summary>
/// Azure Communication Services Email through its REST API (the Azure.Communication.Email package is not on our package
/// mirror): <c>POST {endpoint}/emails:send?api-version=2023-03-31</c> with an Entra token for
/// <c>https://communication.azure.com/.default</c> from the app's managed identity. No access key exists anywhere.
/// The service answers 202 and delivers on its own; we do not poll the operation.
/// </summary>
public sealed class AcsMailSender(MailOptions options, TokenCredential credential, HttpClient http) : IMailSender
{
    public const string ApiVersion = "2023-03-31";
    public static readonly string[] Scopes = ["https://communication.azure.com/.default"];

    public async Task SendAsync(MailMessage message, CancellationToken cancellationToken)
    {
        var acs = options.Acs ?? throw new InvalidOperationException("Azure Communication Services is not configured.");
        var token = await credential.GetTokenAsync(new TokenRequestContext(Scopes), cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{acs.Endpoint.AbsoluteUri.TrimEnd('/')}/emails:send?api-version={ApiVersion}"))
        {
            Content = JsonContent.Create(
                new AcsEmail(
                    options.SenderAddress,
                    new AcsContent(message.Subject, message.PlainText, message.Html),
                    new AcsRecipients([new AcsAddress(message.To)])),
                MailJson.Default.AcsEmail),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new HttpRequestException($"Communication Services answered {(int)response.StatusCode} to emails:send.", null, response.StatusCode);
        }
    }
}

public sealed record AcsEmail(string SenderAddress, AcsContent Content, AcsRecipients Recipients);

public sealed record AcsContent(string Subject, string PlainText, string Html);

public sealed record AcsRecipients(IReadOnlyList<AcsAddress> To);

public sealed record AcsAddress(string Address);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AcsEmail))]
public sealed partial class MailJson : JsonSerializerContext;
