using Serverless.Functions.Tests.Support;

[assembly: AssemblyFixture(typeof(AzuriteFixture))]

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// One Azurite for the whole test run, or the one named by TEST_TABLES_CONNECTION when a developer already runs one.
/// Test classes keep apart by using tables of their own (see <see cref="TestApp"/>).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string ConnectionVariable = "TEST_TABLES_CONNECTION";

    private AzuriteServer? server;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(ConnectionVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
            return;
        }

        server = await AzuriteServer.StartAsync();
        ConnectionString = server.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
