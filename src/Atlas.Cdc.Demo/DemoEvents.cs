using Atlas.Cdc.Outbox;

namespace Atlas.Cdc.Demo;

// The demo's sample events, written with the Atlas.Cdc.Outbox library as an application team would.

/// <summary>A sample event on the Order aggregate.</summary>
/// <param name="Id">The order (aggregate id, Kafka key).</param>
/// <param name="N">The generator's transaction number.</param>
/// <param name="Step">The event's position in its transaction.</param>
/// <param name="Amount">A sample amount.</param>
[OutboxEvent("Order", "OrderUpdated")]
public sealed record OrderUpdated([property: AggregateId] string Id, int N, int Step, int Amount);

/// <summary>A sample event on the Payment aggregate.</summary>
/// <param name="Id">The payment (aggregate id, Kafka key).</param>
/// <param name="N">The generator's transaction number.</param>
/// <param name="Step">The event's position in its transaction.</param>
/// <param name="Amount">A sample amount.</param>
[OutboxEvent("Payment", "PaymentUpdated")]
public sealed record PaymentUpdated([property: AggregateId] string Id, int N, int Step, int Amount);

/// <summary>A sample event on the Shipment aggregate.</summary>
/// <param name="Id">The shipment (aggregate id, Kafka key).</param>
/// <param name="N">The generator's transaction number.</param>
/// <param name="Step">The event's position in its transaction.</param>
/// <param name="Amount">A sample amount.</param>
[OutboxEvent("Shipment", "ShipmentUpdated")]
public sealed record ShipmentUpdated([property: AggregateId] string Id, int N, int Step, int Amount);
