using System.Globalization;

namespace Serverless.Functions.Storage;

/// <summary>
/// Spreads a period's short-lived rows (challenges, flow state, outbox markers) over N partitions, so no partition takes
/// a global share of the traffic: PartitionKey = <c>s{shard:D2}-{period}</c>. The shard comes first so each shard's
/// periods sort together and a cleanup finds a shard's expired periods with one range query
/// (<see cref="ExpiredRange"/>). The shard is a hash of the row key, which a client's request leads back to, so every
/// lookup stays a point read.
/// </summary>
public static class TimeShards
{
    public const int MinShards = 1;
    public const int MaxShards = 100;

    /// <summary>FNV-1a over the key's UTF-16 code units: stable across processes and versions, unlike string.GetHashCode.</summary>
    public static int ShardOf(string rowKey, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, MinShards);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, MaxShards);
        var hash = 2166136261u;
        foreach (var unit in rowKey)
        {
            hash = unchecked((hash ^ unit) * 16777619u);
        }

        return (int)(hash % (uint)shards);
    }

    public static string PartitionOf(string rowKey, string period, int shards) => PartitionOf(ShardOf(rowKey, shards), period);

    public static string PartitionOf(int shard, string period) => string.Create(CultureInfo.InvariantCulture, $"s{shard:D2}-{period}");

    /// <summary>
    /// The partitions of <paramref name="shard"/> whose period sorts at or before <paramref name="lastExpiredPeriod"/>:
    /// <c>PartitionKey ge From and PartitionKey le To</c>. Periods must sort as text in time order (e.g. <c>yyyyMMddHHmm</c>).
    /// </summary>
    public static (string From, string To) ExpiredRange(int shard, string lastExpiredPeriod) =>
        (PartitionOf(shard, ""), PartitionOf(shard, lastExpiredPeriod));
}
