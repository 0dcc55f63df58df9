using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Browser;

/// <summary>A browser test class: one <see cref="BrowserHost"/> per class instance, started before and disposed after each test.</summary>
public abstract class BrowserTest(AzuriteFixture azurite) : IAsyncLifetime
{
    private BrowserHost? host;

    private BrowserHost Host => host ?? throw new InvalidOperationException("Not initialized.");

    protected TestApp App => Host.App;

    protected LocalSite Site => Host.Site;

    protected IBrowser Browser => Host.Browser;

    public async ValueTask InitializeAsync() => host = await BrowserHost.StartAsync(azurite.ConnectionString, AppSettingsAsync);

    /// <summary>
    /// Settings of the app behind the page, given the page's origin (<c>Mail:PageOrigin</c> is already that origin). By
    /// default mail goes nowhere (the tests' discard port); a class that reads mails points it at smtp4dev.
    /// </summary>
    protected virtual Task<IDictionary<string, string?>> AppSettingsAsync(Uri pageOrigin) =>
        Task.FromResult<IDictionary<string, string?>>(new Dictionary<string, string?>());

    public async ValueTask DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
