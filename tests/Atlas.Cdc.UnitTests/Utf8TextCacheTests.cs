using System.Text;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Reading;

namespace Atlas.Cdc.UnitTests;

public class Utf8TextCacheTests
{
    [Fact]
    public void The_same_bytes_give_the_same_entry_and_other_bytes_their_own()
    {
        var cache = new Utf8TextCache();
        var order = cache.Get("Order"u8);
        var again = cache.Get(Encoding.UTF8.GetBytes("Order"));
        var customer = cache.Get("Customer"u8);

        Assert.Same(order, again);
        Assert.Equal("Order", order.Text);
        Assert.Equal("Order"u8.ToArray(), order.Bytes);
        Assert.Equal("Customer", customer.Text);
        Assert.NotSame(order, customer);
    }

    [Fact]
    public void Past_its_size_it_still_decodes_every_value_correctly()
    {
        var cache = new Utf8TextCache();
        for (var i = 0; i < 200; i++)
        {
            var text = $"Aggregate{i}-é";
            var entry = cache.Get(Encoding.UTF8.GetBytes(text));
            Assert.Equal(text, entry.Text);
            Assert.Equal(Encoding.UTF8.GetBytes(text), entry.Bytes);
        }
        Assert.Equal("Aggregate3-é", cache.Get(Encoding.UTF8.GetBytes("Aggregate3-é")).Text);
    }

    [Fact]
    public void A_transactions_header_bytes_are_built_once_and_match_its_commit()
    {
        var transaction = new TrackedTransaction(0x1_0000_16B3UL, new DateTimeOffset(2026, 12, 2, 5, 3, 0, TimeSpan.Zero).AddTicks(12_340));

        Assert.Same(transaction.CommitLsnHeader, transaction.CommitLsnHeader);
        Assert.Same(transaction.CommitTimeHeader, transaction.CommitTimeHeader);
        Assert.Equal("1/16B3", Encoding.UTF8.GetString(transaction.CommitLsnHeader));
        Assert.Equal("2026-12-02T05:03:00.001234Z", Encoding.UTF8.GetString(transaction.CommitTimeHeader));
    }
}
