using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Deletion;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// The app composed exactly as Program.cs composes it, against real Azurite, with tables of its own
/// (a unique name prefix) so test classes never share rows. Requests are real DefaultHttpContext objects.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly ServiceProvider provider;
    private readonly FunctionDispatcher dispatcher;

    private TestApp(ServiceProvider provider, string tablePrefix)
    {
        this.provider = provider;
        TablePrefix = tablePrefix;
        dispatcher = new FunctionDispatcher(provider);
    }

    public IServiceProvider Services => provider;

    public string TablePrefix { get; }

    public TestLogSink Logs => provider.GetRequiredService<TestLogSink>();

    public static TestApp Create(string connectionString, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(DefaultSettings(connectionString))
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var tablePrefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var logs = new TestLogSink();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(logs)
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddServerlessApp(configuration);
        services.AddSingleton(provider => new AppTables(
            provider.GetRequiredService<TableServiceClient>(), provider.GetRequiredService<ILogger<AppTables>>(), tablePrefix));
        services.AddSingleton(PurgeJobs.FromConfiguration(configuration, tablePrefix + "-" + PurgeJobs.Name));
        configureServices?.Invoke(services);
        return new TestApp(services.BuildServiceProvider(validateScopes: true), tablePrefix);
    }

    /// <summary>The app on a clock the test moves (a <c>FakeTimeProvider</c>): token lifetimes, throttle windows, grace periods.</summary>
    public static TestApp Create(string connectionString, TimeProvider clock) =>
        Create(connectionString, configureServices: services => services.AddSingleton(clock));

    public static Dictionary<string, string?> DefaultSettings(string connectionString) => new()
    {
        ["Tables"] = connectionString,
        ["AzureWebJobsStorage"] = connectionString,
        ["Auth:SigningKey"] = TestSigningKey,
        ["Auth:IdentifierHashKey"] = TestIdentifierHashKey,
        ["Auth:TotpSecretKey"] = TestTotpSecretKey,
        ["Auth:Issuer"] = "serverless-tests",
        ["Auth:Audience"] = "serverless-tests",
        // Mail goes nowhere unless a test points it at smtp4dev (Smtp4devServer): nothing listens on the discard port, so a
        // send fails at once and the outbox keeps the mail.
        ["Mail:PageOrigin"] = "https://page.example",
        ["Mail:SenderAddress"] = "noreply@serverless.example",
        ["Mail:Smtp:Host"] = "127.0.0.1",
        ["Mail:Smtp:Port"] = "9",
        ["Passkeys:RelyingPartyId"] = "page.example",
        ["Passkeys:Origins"] = "https://page.example",
    };

    public const string TestIdentifierHashKey = "tests-only-identifier-hash-key-0123456789-abcdefghijklmnop";

    public const string TestTotpSecretKey = "tests-only-totp-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz";

    public const string TestSigningKey = "tests-only-signing-key-long-enough-for-hs512-too-0123456789-abcdefghijklmnop";

    /// <summary>The account key the app derives from <paramref name="email"/> (a keyed hash), for reading its rows.</summary>
    public string AccountKey(string email) => provider.GetRequiredService<Functions.Accounts.AccountKeys>().KeyOf(email);

    /// <summary>This app's own purge queue (a unique name, like its tables), read with a client of the test's own.</summary>
    public QueueClient PurgeQueue(string connectionString) =>
        new(connectionString, Services.GetRequiredService<PurgeJobs>().QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

    public TableClient Table(string name) => provider.GetRequiredService<TableServiceClient>().GetTableClient(TablePrefix + name);

    public Task<TestResponse> GetAsync(string path, string? bearer = null) => SendAsync(HttpMethods.Get, path, bearer: bearer);

    public Task<TestResponse> PostJsonAsync(string path, object body, string? bearer = null) =>
        SendAsync(HttpMethods.Post, path, JsonSerializer.Serialize(body, JsonSerializerOptions.Web), "application/json", bearer);

    public async Task<TestResponse> SendAsync(string method, string pathAndQuery, string? body = null, string? contentType = null,
        string? bearer = null, IDictionary<string, string>? headers = null, IPAddress? from = null, CancellationToken cancellationToken = default)
    {
        var bytes = body is null ? null : Encoding.UTF8.GetBytes(body);
        return await SendBytesAsync(method, pathAndQuery, bytes, contentType, bearer, headers, from, cancellationToken);
    }

    /// <summary>
    /// Sends a request as the worker's ASP.NET Core integration hands it to a function: the client's address in
    /// <c>Connection.RemoteIpAddress</c> (<paramref name="from"/>), and no <c>X-Forwarded-For</c>, which the host's forwarder
    /// wrote and the worker's forwarded-headers middleware consumed (docs/reliability.md, "Which address is the client's").
    /// </summary>
    public async Task<TestResponse> SendBytesAsync(string method, string pathAndQuery, byte[]? body, string? contentType = null,
        string? bearer = null, IDictionary<string, string>? headers = null, IPAddress? from = null, CancellationToken cancellationToken = default)
    {
        var context = new DefaultHttpContext();
        var queryStart = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = queryStart < 0 ? pathAndQuery : pathAndQuery[..queryStart];
        context.Request.QueryString = queryStart < 0 ? QueryString.Empty : new QueryString(pathAndQuery[queryStart..]);
        context.RequestAborted = cancellationToken;
        // Each request comes from an address of its own unless it says otherwise (from), as from many users: the
        // per-address limits are tested on purpose (Reliability/AbuseLimitTests.cs), not hit by accident.
        context.Connection.RemoteIpAddress = from ?? NextClientAddress();
        if (body is not null)
        {
            context.Request.Body = new MemoryStream(body);
            context.Request.ContentLength = body.Length;
        }

        if (contentType is not null)
        {
            context.Request.ContentType = contentType;
        }

        if (bearer is not null)
        {
            context.Request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer).ToString();
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;
        await dispatcher.DispatchAsync(context);
        return new TestResponse(context.Response.StatusCode, context.Response.Headers, context.Response.ContentType,
            Encoding.UTF8.GetString(responseBody.ToArray()));
    }

    private static int clientAddresses;

    /// <summary>An address no other request of the test run has come from (10.x.y.z).</summary>
    public static IPAddress NextClientAddress()
    {
        var n = Interlocked.Increment(ref clientAddresses);
        return new IPAddress([10, (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
    }

    /// <summary>The client address a test names, e.g. <c>TestApp.Client("203.0.113.66")</c>.</summary>
    public static IPAddress Client(string address) => IPAddress.Parse(address);

    /// <summary>
    /// Runs a request that arrived some other way (the browser test's Kestrel adapter) through the same dispatcher,
    /// against this app's services and tables.
    /// </summary>
    public Task DispatchAsync(HttpContext context) => dispatcher.DispatchAsync(context);

    public async ValueTask DisposeAsync() => await provider.DisposeAsync();
}
