using Serverless.Bench;

// dotnet run -c Release --project bench/Serverless.Bench [-- <mode>]; the modes and their output are in docs/performance.md.
return args.FirstOrDefault() switch
{
    null or "all" => BenchRun.RunAll(args.Skip(1).ToArray()),
    "seed" => BenchRun.SeedOnly(),
    "list-breakdown" => ListBreakdown.Run(),
    "login-breakdown" => LoginBreakdown.Run(),
    "paired" => BenchRun.PairedOnly(),
    "argon2-memory" => Argon2Memory.Run(),
    "summarize" => RunSummary.Aggregate(args.Skip(1).ToArray()),
    var mode => BenchRun.Unknown(mode),
};
