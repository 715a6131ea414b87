using System.Text;
using Atlas.Cdc.Mapping;

namespace Atlas.Cdc.UnitTests;

public class TopicNamerTests
{
    [Fact]
    public void Template_placeholders_are_replaced_per_event()
    {
        var namer = new TopicNamer("cdc.{aggregate_type}.{event_type}");
        var topic = namer.For("Order", Encoding.UTF8.GetBytes("OrderPlaced"));
        Assert.Equal("cdc.Order.OrderPlaced", topic.Name);
        Assert.Null(topic.Error);
    }

    [Fact]
    public void Runs_and_alternations_of_aggregate_types_each_get_their_own_topic()
    {
        var namer = new TopicNamer("cdc.{aggregate_type}");
        var order = "Order";
        var payment = new string("Payment".AsSpan()); // a distinct instance, as a second decoder string would be
        var sequence = new[] { order, order, payment, order, payment, payment, new string("Order".AsSpan()), "Shipment" };

        var names = sequence.Select(type => namer.For(type, "ignored"u8).Name).ToList();

        Assert.Equal(sequence.Select(type => $"cdc.{type}"), names);
    }

    [Fact]
    public void With_the_event_type_in_the_template_the_same_aggregate_type_still_splits_by_event_type()
    {
        var namer = new TopicNamer("cdc.{aggregate_type}.{event_type}");
        const string order = "Order";

        Assert.Equal("cdc.Order.Placed", namer.For(order, "Placed"u8).Name);
        Assert.Equal("cdc.Order.Shipped", namer.For(order, "Shipped"u8).Name);
        Assert.Equal("cdc.Order.Placed", namer.For(order, "Placed"u8).Name);
    }

    [Theory]
    [InlineData("order items", ' ')]
    [InlineData("commande/é", '/')]
    public void Aggregate_types_that_make_an_illegal_topic_are_reported_not_sent(string aggregateType, char bad)
    {
        var topic = new TopicNamer("outbox.event.{aggregate_type}").For(aggregateType, []);
        Assert.Contains($"'{bad}'", topic.Error);
    }

    [Fact]
    public void Too_long_a_topic_is_reported()
    {
        var topic = new TopicNamer("{aggregate_type}").For(new string('a', 250), []);
        Assert.Contains("249", topic.Error);
    }

    [Theory]
    [InlineData("outbox.event.{aggregate_type}", null)]
    [InlineData("outbox.{aggregate}", "unknown placeholder")]
    [InlineData("", "is empty")]
    [InlineData("outbox events", "illegal topic")]
    public void Template_is_checked_at_start_up(string template, string? expected)
    {
        var error = TopicNamer.ValidateTemplate(template);
        if (expected is null)
            Assert.Null(error);
        else
            Assert.Contains(expected, error);
    }
}
