using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Accounts;
using Serverless.Functions.Passwords;

namespace Serverless.Bench;

/// <summary>POST /api/auth/login through the function class against one Argon2id verification at the configured cost.</summary>
public class LoginBenchmarks
{
    private WorkerInvocation worker = null!;
    private PasswordHasher hasher = null!;
    private string storedHash = "";
    private byte[] body = [];

    [GlobalSetup]
    public void Setup()
    {
        var environment = BenchEnvironment.Get();
        worker = new WorkerInvocation(environment.App);
        hasher = environment.App.GetRequiredService<PasswordHasher>();
        storedHash = hasher.Hash(BenchEnvironment.Password);
        body = JsonSerializer.SerializeToUtf8Bytes(new { email = BenchEnvironment.LoginEmail, password = BenchEnvironment.Password }, JsonSerializerOptions.Web);
        if (LoginFunction().GetAwaiter().GetResult() != 200 || Argon2Verify() != PasswordCheck.Correct)
        {
            throw new InvalidOperationException("The login benchmarks do not log in.");
        }
    }

    [Benchmark]
    public PasswordCheck Argon2Verify() => hasher.Verify(BenchEnvironment.Password, storedHash);

    [Benchmark]
    public Task<int> LoginFunction() =>
        worker.InvokeAsync<AccountFunctions>(WorkerInvocation.Request("POST", "/api/auth/login", jsonBody: body), anonymous: true,
            (functions, request) => functions.Login(request, CancellationToken.None));
}
