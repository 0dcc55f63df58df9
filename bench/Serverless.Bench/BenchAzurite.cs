using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Serverless.Functions.Tests.Support;

namespace Serverless.Bench;

/// <summary>
/// Azurite with its data kept on disk under BenchmarkDotNet.Artifacts/azurite, so the 100,000 seeded items, which take
/// Azurite many minutes to insert, are seeded once per machine and reused by every later run.
/// </summary>
public sealed class BenchAzurite : IDisposable
{
    // Azurite's documented development account; a well-known public value, not a secret.
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process process;

    private BenchAzurite(Process process, int port)
    {
        this.process = process;
        Port = port;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    public int Port { get; }

    public static string DataDirectory => Path.Combine(BenchRun.ArtifactsPath, "azurite");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    public static async Task<BenchAzurite> StartAsync()
    {
        var script = RepositoryRoot.Combine("node_modules", "azurite", "dist", "src", "table", "main.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException("Azurite is not installed: run `npm ci` in the repository root first.");
        }

        Directory.CreateDirectory(DataDirectory);
        var port = FreeLoopbackPort();
        var info = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[script, "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture),
                     "--location", DataDirectory, "--skipApiVersionCheck", "--disableProductStyleUrl", "--disableTelemetry", "--silent"])
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start node.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new BenchAzurite(process, port);
        var deadline = DateTime.UtcNow.AddMinutes(2); // loading 100,000 entities from disk takes a while
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(200);
            }
        }

        server.Dispose();
        throw new InvalidOperationException("Azurite did not start listening.");
    }

    /// <summary>Azurite writes its in-memory database to disk every few seconds; this waits for one such save.</summary>
    public static Task WaitForSaveAsync() => Task.Delay(TimeSpan.FromSeconds(10));

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
