using Serverless.Functions.Storage;

namespace Serverless.Functions.Tests.Storage;

public sealed class TimeShardsTests
{
    [Fact]
    public void Ten_thousand_random_keys_put_no_shard_over_twice_its_fair_share()
    {
        const int Shards = 8;
        var counts = new int[Shards];
        for (var i = 0; i < 10_000; i++)
        {
            counts[TimeShards.ShardOf(Convert.ToHexString(Guid.NewGuid().ToByteArray()), Shards)]++;
        }

        Assert.All(counts, count => Assert.InRange(count, 1, 2 * 10_000 / Shards));
    }

    [Fact]
    public void A_key_always_lands_in_the_same_partition()
    {
        // Pinned (FNV-1a 32-bit, worked out by hand in Python): a changed hash would strand every row written before a deployment.
        Assert.Equal("s07-202612050800", TimeShards.PartitionOf("challenge-abc", "202612050800", 8));
        Assert.Equal(TimeShards.PartitionOf("challenge-abc", "p", 8), TimeShards.PartitionOf("challenge-abc", "p", 8));
        Assert.Equal("s00-p", TimeShards.PartitionOf("anything", "p", 1));
    }

    [Fact]
    public void The_expired_range_of_a_shard_holds_its_old_periods_and_nothing_of_the_other_shards()
    {
        var (from, to) = TimeShards.ExpiredRange(3, "202612050800");

        bool InRange(string partition) => string.CompareOrdinal(partition, from) >= 0 && string.CompareOrdinal(partition, to) <= 0;
        Assert.True(InRange(TimeShards.PartitionOf(3, "202612050755")));
        Assert.True(InRange(TimeShards.PartitionOf(3, "202612050800")));
        Assert.False(InRange(TimeShards.PartitionOf(3, "202612050805")));
        Assert.False(InRange(TimeShards.PartitionOf(2, "202612050755")));
        Assert.False(InRange(TimeShards.PartitionOf(4, "202612050755")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void A_shard_count_outside_1_to_100_is_refused(int shards) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeShards.ShardOf("k", shards));
}
