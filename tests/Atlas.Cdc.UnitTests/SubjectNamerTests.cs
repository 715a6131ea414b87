using Atlas.Cdc.Schemas;

namespace Atlas.Cdc.UnitTests;

public class SubjectNamerTests
{
    [Fact]
    public void Runs_and_alternations_of_topics_and_aggregate_types_each_get_their_own_subject()
    {
        var namer = new SubjectNamer("{topic}-{aggregate_type}-value");
        var orders = "cdc.Order";
        var payments = new string("cdc.Payment".AsSpan()); // a distinct instance, as another topic's name would be
        (string Topic, string AggregateType)[] sequence =
        [
            (orders, "Order"), (orders, "Order"), (payments, "Payment"), (orders, "Order"),
            (orders, "Refund"), (new string("cdc.Order".AsSpan()), "Order"), (payments, "Payment"),
        ];

        var subjects = sequence.Select(e => namer.For(e.Topic, e.AggregateType, "ignored"u8)).ToList();

        Assert.Equal(sequence.Select(e => $"{e.Topic}-{e.AggregateType}-value"), subjects);
    }

    [Fact]
    public void With_the_event_type_in_the_template_one_topic_still_splits_by_event_type()
    {
        var namer = new SubjectNamer("{topic}-{event_type}");
        const string topic = "cdc.Order";

        Assert.Equal("cdc.Order-Placed", namer.For(topic, "Order", "Placed"u8));
        Assert.Equal("cdc.Order-Shipped", namer.For(topic, "Order", "Shipped"u8));
        Assert.Equal("cdc.Order-Placed", namer.For(topic, "Order", "Placed"u8));
    }
}
