using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// What a person runs locally, for a real browser in a test: the static page (web/) on one loopback port and the API on
/// another, so every API call is cross-origin as in Azure. The API side is a test-only Kestrel adapter: it stands in for
/// <c>func start</c> by answering CORS the way the Functions host does and handing every request under /api to the
/// tests' <see cref="FunctionDispatcher"/>, which runs the real function classes, authentication and exception boundary
/// against the <see cref="TestApp"/>'s services and Azurite tables. The real host remains <c>func start</c>.
/// </summary>
public sealed class LocalSite : IAsyncDisposable
{
    /// <summary>The request headers the page sends that are not CORS-safelisted (bearer token, JSON bodies, conditional edits, safe create retries).</summary>
    public static readonly string[] AllowedHeaders = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key"];

    public static readonly string[] AllowedMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    private readonly WebApplication web;
    private readonly WebApplication api;
    private readonly PhysicalFileProvider webFiles;
    private readonly ConcurrentQueue<Exception> apiExceptions;

    private LocalSite(WebApplication web, WebApplication api, PhysicalFileProvider webFiles, ConcurrentQueue<Exception> apiExceptions, Uri webOrigin, Uri apiBaseUrl)
    {
        this.web = web;
        this.api = api;
        this.webFiles = webFiles;
        this.apiExceptions = apiExceptions;
        WebOrigin = webOrigin;
        ApiBaseUrl = apiBaseUrl;
    }

    /// <summary>
    /// The static server serving web/, e.g. http://localhost:41234/: a host name, as WebAuthn refuses IP addresses as
    /// relying-party ids (the page's passkeys are for <c>localhost</c>, as when run locally).
    /// </summary>
    public Uri WebOrigin { get; }

    /// <summary>The API base URL the page is pointed at, e.g. http://127.0.0.1:41235/api.</summary>
    public Uri ApiBaseUrl { get; }

    /// <summary>The page's URL with <c>?api=</c> (honoured by web/config.js because the page is served from loopback).</summary>
    public string PageUrl => $"{Origin(WebOrigin)}/?api={Uri.EscapeDataString(ApiBaseUrl.ToString())}";

    /// <summary>Exceptions that escaped the dispatcher (the Functions host would log them and answer 500).</summary>
    public IReadOnlyCollection<Exception> ApiExceptions => apiExceptions;

    public static Task<LocalSite> StartAsync(TestApp app, string webRoot) => StartAsync(_ => Task.FromResult(app), webRoot);

    /// <summary>
    /// Starts the page's server first, then the app <paramref name="createApp"/> builds for the page's origin (settings such as
    /// <c>Mail:PageOrigin</c>, the origin the links in mails point at), then the API in front of that app.
    /// </summary>
    public static async Task<LocalSite> StartAsync(Func<Uri, Task<TestApp>> createApp, string webRoot)
    {
        var webFiles = new PhysicalFileProvider(webRoot);
        WebApplication? web = null;
        try
        {
            web = StaticServer(webFiles, GlobalHeaders(Path.Combine(webRoot, "staticwebapp.config.json")));
            await web.StartAsync();
            var webOrigin = new UriBuilder(BoundAddress(web)) { Host = "localhost" }.Uri;
            var app = await createApp(new Uri(Origin(webOrigin)));

            var apiExceptions = new ConcurrentQueue<Exception>();
            var api = ApiServer(app, Origin(webOrigin), apiExceptions);
            try
            {
                await api.StartAsync();
            }
            catch
            {
                await api.DisposeAsync();
                throw;
            }

            return new LocalSite(web, api, webFiles, apiExceptions, webOrigin, new Uri(BoundAddress(api), "/api"));
        }
        catch
        {
            if (web is not null)
            {
                await web.DisposeAsync();
            }

            webFiles.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await api.StopAsync();
            await web.StopAsync();
        }
        finally
        {
            await api.DisposeAsync();
            await web.DisposeAsync();
            webFiles.Dispose();
        }
    }

    private static WebApplication StaticServer(PhysicalFileProvider webFiles, IReadOnlyDictionary<string, string> globalHeaders)
    {
        var app = LoopbackApp();

        // The headers Azure Static Web Apps adds to every file (the CSP among them), so the page runs under the same policy
        // as when deployed, not just the copy of it in index.html's meta tag.
        app.Use((context, next) =>
        {
            foreach (var (name, value) in globalHeaders)
            {
                context.Response.Headers[name] = value;
            }

            return next(context);
        });
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = webFiles });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = webFiles });
        return app;
    }

    private static WebApplication ApiServer(TestApp functions, string webOrigin, ConcurrentQueue<Exception> exceptions)
    {
        var app = LoopbackApp(services => services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
            // Host.CORS lists origins and the host then allows them any method and header. This list is narrower on
            // purpose: exactly the page's origin (never "*"), and exactly what the page sends, so a new header in the
            // page is noticed here before someone has to add it to the deployed CORS settings.
            .WithOrigins(webOrigin)
            .WithMethods(AllowedMethods)
            .WithHeaders(AllowedHeaders))));

        // Answers preflights itself and adds Access-Control-Allow-Origin to the page's requests, as the host does in front
        // of the worker. Access-Control-Expose-Headers comes from the app's own responses (ApiResult).
        app.UseCors();
        app.Run(async context =>
        {
            if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            try
            {
                await functions.DispatchAsync(context);
            }
            catch (Exception exception)
            {
                exceptions.Enqueue(exception);
                throw;
            }
        });
        return app;
    }

    private static WebApplication LoopbackApp(Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            ApplicationName = typeof(LocalSite).Assembly.GetName().Name,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    private static Uri BoundAddress(WebApplication app) =>
        new(app.Urls.Single(url => url.StartsWith("http://127.0.0.1:", StringComparison.Ordinal) && !url.EndsWith(":0", StringComparison.Ordinal)));

    private static string Origin(Uri uri) => uri.GetLeftPart(UriPartial.Authority);

    private static Dictionary<string, string> GlobalHeaders(string staticWebAppConfigPath)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(staticWebAppConfigPath));
        return document.RootElement.TryGetProperty("globalHeaders", out var headers)
            ? headers.EnumerateObject().ToDictionary(header => header.Name, header => header.Value.GetString() ?? "", StringComparer.OrdinalIgnoreCase)
            : [];
    }
}
