using BenchmarkDotNet.Attributes;
using Serverless.Functions.Accounts;
using Serverless.Functions.Passwords;

namespace Serverless.Bench;

/// <summary>
/// One Argon2id hash on one thread, at the configured cost and at ten times its memory: the second should take about ten
/// times as long if NSec's MemorySize is in KiB, as PasswordHasher assumes.
/// </summary>
public class Argon2Benchmarks
{
    private readonly Argon2Settings configured = Argon2Settings.Default;
    private readonly Argon2Settings tenfoldMemory = Argon2Settings.Default with { MemoryKiB = Argon2Settings.Default.MemoryKiB * 10 };

    [Benchmark]
    public string Hash19MiB() => PasswordHasher.Hash(BenchEnvironment.Password, configured);

    [Benchmark]
    public string Hash190MiB() => PasswordHasher.Hash(BenchEnvironment.Password, tenfoldMemory);
}
