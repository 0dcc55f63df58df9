using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// One app, one owner with items and sessions, and a storage request counter, shared by the tests of one class: the
/// signups and logins (Argon2id) are paid once, not once per case of a theory.
/// </summary>
public sealed class RoutesFixture(AzuriteFixture azurite) : IAsyncLifetime
{
    public TestApp App { get; private set; } = null!;

    public StorageRequestCounter StorageRequests { get; private set; } = null!;

    public RouteFixtures Owner { get; private set; } = null!;

    public string ConnectionString => azurite.ConnectionString;

    public async ValueTask InitializeAsync()
    {
        App = TestApp.Create(azurite.ConnectionString, configureServices: StorageRequestCounter.AddTo);
        StorageRequests = App.Services.GetRequiredService<StorageRequestCounter>();
        Owner = await RouteFixtures.CreateAsync(App);
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
