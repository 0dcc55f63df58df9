using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
        configureServices?.Invoke(services);
        return new TestApp(services.BuildServiceProvider(validateScopes: true), tablePrefix);
    }

    /// <summary>The app on a clock the test moves (a <c>FakeTimeProvider</c>): token lifetimes, throttle windows, grace periods.</summary>
    public static TestApp Create(string connectionString, TimeProvider clock) =>
        Create(connectionString, configureServices: services => services.AddSingleton(clock));

    public static Dictionary<string, string?> DefaultSettings(string connectionString) => new()
    {
        ["Tables"] = connectionString,
        ["Auth:SigningKey"] = TestSigningKey,
        ["Auth:Issuer"] = "serverless-tests",
        ["Auth:Audience"] = "serverless-tests",
        // Mail goes nowhere unless a test points it at smtp4dev (Smtp4devServer): nothing listens on the discard port, so a
        // send fails at once and the outbox keeps the mail.
        ["Mail:PageOrigin"] = "https://page.example",
        ["Mail:SenderAddress"] = "noreply@serverless.example",
        ["Mail:Smtp:Host"] = "127.0.0.1",
        ["Mail:Smtp:Port"] = "9",
    };

    public const string TestSigningKey = "tests-only-signing-key-long-enough-for-hs512-too-0123456789-abcdefghijklmnop";

    public TableClient Table(string name) => provider.GetRequiredService<TableServiceClient>().GetTableClient(TablePrefix + name);

    public Task<TestResponse> GetAsync(string path, string? bearer = null) => SendAsync(HttpMethods.Get, path, bearer: bearer);

    public Task<TestResponse> PostJsonAsync(string path, object body, string? bearer = null) =>
        SendAsync(HttpMethods.Post, path, JsonSerializer.Serialize(body, JsonSerializerOptions.Web), "application/json", bearer);

    public async Task<TestResponse> SendAsync(string method, string pathAndQuery, string? body = null, string? contentType = null,
        string? bearer = null, IDictionary<string, string>? headers = null, CancellationToken cancellationToken = default)
    {
        var bytes = body is null ? null : Encoding.UTF8.GetBytes(body);
        return await SendBytesAsync(method, pathAndQuery, bytes, contentType, bearer, headers, cancellationToken);
    }

    public async Task<TestResponse> SendBytesAsync(string method, string pathAndQuery, byte[]? body, string? contentType = null,
        string? bearer = null, IDictionary<string, string>? headers = null, CancellationToken cancellationToken = default)
    {
        var context = new DefaultHttpContext();
        var queryStart = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = queryStart < 0 ? pathAndQuery : pathAndQuery[..queryStart];
        context.Request.QueryString = queryStart < 0 ? QueryString.Empty : new QueryString(pathAndQuery[queryStart..]);
        context.RequestAborted = cancellationToken;
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

    /// <summary>
    /// Runs a request that arrived some other way (the browser test's Kestrel adapter) through the same dispatcher,
    /// against this app's services and tables.
    /// </summary>
    public Task DispatchAsync(HttpContext context) => dispatcher.DispatchAsync(context);

    public async ValueTask DisposeAsync() => await provider.DisposeAsync();
}
