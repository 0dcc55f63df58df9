using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// The development mail server (smtp4dev, the dotnet tool pinned in .config/dotnet-tools.json, restored by
/// <see cref="TestTools.DotnetTools"/>) on free loopback ports, with an in-memory store; one for the test run, started by
/// the first test that asks, stopped with its whole process tree when the test process exits. Tests read delivered mails
/// through its REST API.
/// </summary>
public sealed class Smtp4devServer
{
    private static readonly Lazy<Task<Smtp4devServer>> Shared = new(StartAsync);
    private readonly Process process;

    private Smtp4devServer(Process process, int smtpPort, int webPort)
    {
        this.process = process;
        SmtpPort = smtpPort;
        WebUri = new Uri($"http://127.0.0.1:{webPort}/");
        Http = new HttpClient { BaseAddress = WebUri, Timeout = TimeSpan.FromSeconds(10) };
    }

    public int SmtpPort { get; }

    public Uri WebUri { get; }

    public HttpClient Http { get; }

    /// <summary>The settings that point the app's mail at this server.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["Mail:Smtp:Host"] = "127.0.0.1",
        ["Mail:Smtp:Port"] = SmtpPort.ToString(CultureInfo.InvariantCulture),
    };

    public static Task<Smtp4devServer> GetAsync() => Shared.Value;

    /// <summary>Waits for the newest mail to <paramref name="to"/> whose subject contains <paramref name="subjectPart"/>.</summary>
    public async Task<DeliveredMail> WaitForMailAsync(string to, string subjectPart, int skip = 0, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var mails = await MailsToAsync(to, subjectPart);
            if (mails.Count > skip)
            {
                return mails[skip];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No mail number {skip + 1} with '{subjectPart}' arrived within the timeout.");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Every mail to <paramref name="to"/> with <paramref name="subjectPart"/> in its subject, oldest first.</summary>
    public async Task<IReadOnlyList<DeliveredMail>> MailsToAsync(string to, string subjectPart)
    {
        using var list = JsonDocument.Parse(await Http.GetStringAsync("api/messages?pageSize=100000"));
        var mails = new List<DeliveredMail>();
        foreach (var message in list.RootElement.GetProperty("results").EnumerateArray())
        {
            if (message.GetProperty("to").EnumerateArray().Any(address => string.Equals(address.GetString(), to, StringComparison.OrdinalIgnoreCase))
                && message.GetProperty("subject").GetString()!.Contains(subjectPart, StringComparison.Ordinal))
            {
                var id = message.GetProperty("id").GetString()!;
                mails.Add(new DeliveredMail(
                    id, message.GetProperty("from").GetString()!, message.GetProperty("subject").GetString()!,
                    message.GetProperty("receivedDate").GetDateTime(),
                    await Http.GetStringAsync($"api/messages/{id}/plaintext"), await Http.GetStringAsync($"api/messages/{id}/html")));
            }
        }

        return [.. mails.OrderBy(mail => mail.ReceivedAt)];
    }

    private static async Task<Smtp4devServer> StartAsync()
    {
        await TestTools.DotnetTools.EnsureAsync();
        var smtpPort = FreeLoopbackPort();
        var webPort = FreeLoopbackPort();
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "tool", "run", "smtp4dev", "--",
            $"--smtpport={smtpPort}", $"--urls=http://127.0.0.1:{webPort}", "--db=", "--bindaddress=127.0.0.1",
            "--imapport=0", "--pop3port=0", "--nousersettings", "--hostname=localhost", "--messagestokeep=100000", "--tlsmode=None",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start smtp4dev.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        };
        var server = new Smtp4devServer(process, smtpPort, webPort);
        await server.WaitUntilAnsweringAsync();
        return server;
    }

    private async Task WaitUntilAnsweringAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"smtp4dev exited with code {process.ExitCode} before it answered.");
            }

            try
            {
                using var smtp = new TcpClient();
                await smtp.ConnectAsync(IPAddress.Loopback, SmtpPort);
                using var response = await Http.GetAsync("api/messages");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is SocketException or HttpRequestException or TaskCanceledException)
            {
                // Not yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("smtp4dev did not answer within 90 seconds.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A mail as smtp4dev received it: both parts, and the token of its link.</summary>
public sealed record DeliveredMail(string Id, string From, string Subject, DateTime ReceivedAt, string PlainText, string Html)
{
    /// <summary>The link of the mail's plain-text part that goes to the page with <c>#<paramref name="fragment"/>=…</c>.</summary>
    public Uri Link(string fragment)
    {
        var match = System.Text.RegularExpressions.Regex.Match(PlainText, $@"https?://\S+/#{fragment}=[A-Za-z0-9_.-]+");
        Assert.True(match.Success, $"No #{fragment}= link in the mail.");
        return new Uri(match.Value);
    }

    public string Token(string fragment) => Link(fragment).Fragment[(fragment.Length + 2)..];
}
