namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suites that measure time (answers within 5 seconds, the soak's latencies) or stop storage: they run one after another,
/// after the parallel tests, so that no other test's load decides whether they pass.
/// </summary>
[CollectionDefinition(nameof(SerialReliability), DisableParallelization = true)]
public sealed class SerialReliability;
