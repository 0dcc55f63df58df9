namespace Serverless.Functions.Tests.Repository;

/// <summary>
/// Tests that start heavy processes (MSBuild, bash with its stand-ins): they run after the parallel tests, alone, so that
/// their CPU does not push the timed storage calls of other tests past their 5-second bound on a busy machine.
/// </summary>
[CollectionDefinition(nameof(SerialRepository), DisableParallelization = true)]
public sealed class SerialRepository;
