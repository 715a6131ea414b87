using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Atlas.Cdc.Outbox.Tests;

// The event types the tests write, together in one file because each is a few lines of fixture.

[OutboxEvent("Order", "OrderPlaced")]
public sealed record OrderPlaced
{
    [AggregateId]
    public required Guid OrderId { get; init; }

    [Required, StringLength(50)]
    public required string Customer { get; init; }

    [Range(0.01, 1_000_000)]
    public required decimal Total { get; init; }

    public string? Note { get; init; }
}

[OutboxEvent("Payment", "PaymentRequested")]
public sealed record PaymentRequested
{
    [AggregateId]
    public required string PaymentId { get; init; }

    /// <summary>The command's id: a retried handler sends the same one.</summary>
    [IdempotencyKey]
    public string? CommandId { get; init; }

    public int Cents { get; init; }
}

[OutboxEvent("Customer", "CustomerRenamed")]
public sealed class CustomerRenamed
{
    // A constructor that claims to set the required members lets a test build the broken event that
    // deserialization or reflection can produce.
    [SetsRequiredMembers]
    public CustomerRenamed(long customerId, string name)
    {
        CustomerId = customerId;
        Name = name;
    }

    [AggregateId]
    public long CustomerId { get; }

    public required string Name { get; init; }
}

[OutboxEvent("Order Line", "Added")]
public sealed record BadAggregateType([property: AggregateId] string Id);

[OutboxEvent("Order", "Added")]
public sealed record NoAggregateId(string Id);

public sealed record NoAttribute([property: AggregateId] string Id);

[OutboxEvent("Tree", "Grown")]
public sealed class Cyclic
{
    [AggregateId]
    public string Id { get; init; } = "tree-1";

    public Cyclic? Parent { get; set; }
}

[OutboxEvent("Shipment", "Shipped")]
public sealed record ShipmentShipped([property: AggregateId] string ShipmentId, string Carrier);

/// <summary>Source-generated serialization for <see cref="ShipmentShipped"/> only.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ShipmentShipped))]
public sealed partial class ShipmentJsonContext : JsonSerializerContext;
