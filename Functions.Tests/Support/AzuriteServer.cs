using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Serverless.Functions.Tests.Support;

/// <summary>
/// An Azurite of the tests' own, with its table and queue services (the queue carries the account purge): the npm package
/// pinned in package.json (installed with npm ci when missing: <see cref="TestTools.NpmPackages"/>), each service on a free loopback port, stopped with its whole
/// process tree when disposed or when the test process exits.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    // Azurite's documented development account; a well-known public value, not a secret.
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string? dataDirectory;
    private Process? process;

    // The full azurite binary always starts a blob service too; the tests give it a free port and never use it.
    private readonly int blobPort;

    private AzuriteServer(int port, int queuePort, int blobPort, string? dataDirectory)
    {
        Port = port;
        QueuePort = queuePort;
        this.blobPort = blobPort;
        this.dataDirectory = dataDirectory;
    }

    /// <summary>The table service's port.</summary>
    public int Port { get; }

    public int QueuePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};" +
        $"TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;";

    /// <summary>Starts a server; <paramref name="persistent"/> keeps data on disk so it survives <see cref="StopAsync"/> and a restart.</summary>
    public static async Task<AzuriteServer> StartAsync(bool persistent = false)
    {
        await TestTools.NpmPackages.EnsureAsync();
        var dataDirectory = persistent ? Directory.CreateTempSubdirectory("azurite-").FullName : null;
        var ports = FreeLoopbackPorts(3);
        var server = new AzuriteServer(ports[0], ports[1], ports[2], dataDirectory);
        await server.RestartAsync();
        return server;
    }

    public async Task RestartAsync()
    {
        if (process is not null)
        {
            throw new InvalidOperationException("Azurite is already running.");
        }

        var started = Process.Start(StartInfo()) ?? throw new InvalidOperationException("Could not start node.");
        started.OutputDataReceived += (_, _) => { };
        started.ErrorDataReceived += (_, _) => { };
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;
        await WaitUntilListeningAsync(started);
    }

    public async Task StopAsync()
    {
        if (process is not { } running)
        {
            return;
        }

        process = null;
        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        // A persistent Azurite writes its data to disk every 5 seconds; killed, it would lose the last 5 seconds of
        // writes, which no real storage outage does. Interrupted (SIGINT), it saves them and exits.
        if (!running.HasExited && dataDirectory is not null && Interrupt(running.Id) == 0)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await running.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                // Still running: killed below.
            }
        }

        if (!running.HasExited)
        {
            running.Kill(entireProcessTree: true);
        }

        await running.WaitForExitAsync();
        running.Dispose();
    }

    private static int Interrupt(int processId)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", processId.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        });
        if (kill is null)
        {
            return -1;
        }

        kill.WaitForExit();
        return kill.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (dataDirectory is not null)
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private void KillOnExit(object? sender, EventArgs e)
    {
        try
        {
            process?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private ProcessStartInfo StartInfo()
    {
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory ?? Path.GetTempPath(),
        };
        string[] arguments =
        [
            RepositoryRoot.Combine("node_modules", "azurite", "dist", "src", "azurite.js"),
            "--tableHost", "127.0.0.1",
            "--tablePort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queueHost", "127.0.0.1",
            "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--blobHost", "127.0.0.1",
            "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--disableTelemetry",
            "--silent",
            .. dataDirectory is null ? (string[])["--inMemoryPersistence"] : ["--location", dataDirectory],
        ];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private async Task WaitUntilListeningAsync(Process started)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var port in new[] { Port, QueuePort })
        {
            while (!await IsListeningAsync(port))
            {
                if (started.HasExited)
                {
                    throw new InvalidOperationException($"Azurite exited with code {started.ExitCode} before it listened on port {port}.");
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"Azurite did not listen on port {port} within 30 seconds.");
                }

                await Task.Delay(100);
            }
        }
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // All listeners stay open until every port is chosen, so the ports differ from each other.
    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(listener => listener.Start());
            return [.. listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(listener => listener.Stop());
        }
    }
}
