using Atlas.Cdc.Outbox;

namespace Atlas.Cdc.Benchmarks.OutboxWriter;

/// <summary>The event both writers store: a typed event for the library, the same row by hand for the baseline.</summary>
[OutboxEvent("Order", "OrderPlaced")]
internal sealed record BenchOrderPlaced
{
    [AggregateId]
    public required Guid OrderId { get; init; }

    public required string Customer { get; init; }

    public required decimal Total { get; init; }

    public required string[] Items { get; init; }
}
