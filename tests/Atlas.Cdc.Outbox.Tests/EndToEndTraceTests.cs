using System.Diagnostics;
using Atlas.Cdc.Sandbox;
using Npgsql;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>
/// The whole way: a span started in the writer's process, the event written by the library as the writer role,
/// the real relay process publishing to the Kafka-protocol mock cluster, and kcat reading it back.
/// </summary>
[Collection(OutboxCollection.Name)]
public class EndToEndTraceTests(OutboxEnvironment environment)
{
    [Fact]
    public async Task Span_started_by_the_writer_arrives_in_Kafka_as_the_traceparent_of_its_event()
    {
        await using var db = await environment.CreateDatabaseAsync("e2e");
        var slot = "slot_" + db.Name;
        var topicPrefix = "t_" + db.Name;
        try
        {
            await using (var relay = RelayProcess.Start(new Dictionary<string, string>
                         {
                             ["Cdc__Postgres__ConnectionString"] = environment.Postgres.ConnectionStringFor("atlas_cdc_relay", database: db.Name),
                             ["Cdc__Kafka__BootstrapServers"] = environment.Kafka.BootstrapServers,
                             ["Cdc__Slot"] = slot,
                             ["Cdc__TopicTemplate"] = topicPrefix + ".{aggregate_type}",
                             ["Cdc__DeadLetter__Topic"] = topicPrefix + ".dlq",
                         }))
            {
                await relay.WaitUntilReadyAsync();

                using var span = new Activity("place-order") { TraceStateString = "shop=1" }.AddBaggage("tenant", "acme").Start();
                var orderId = Guid.NewGuid();
                OutboxWriteResult result;
                await using (var connection = await db.OpenWriterAsync())
                await using (var transaction = await connection.BeginTransactionAsync())
                {
                    await using (var business = new NpgsqlCommand($"INSERT INTO orders VALUES ('{orderId}', 'ada', 10)", connection, transaction))
                        await business.ExecuteNonQueryAsync();
                    result = await connection.AddOutboxEventAsync(
                        new OrderPlaced { OrderId = orderId, Customer = "ada", Total = 10 }, transaction);
                    await transaction.CommitAsync();
                }
                span.Stop();

                var record = await WaitForEventAsync(topicPrefix + ".Order", result.EventId, relay);
                Assert.Equal(orderId.ToString(), record.Key);
                Assert.Equal("OrderPlaced", record.Header("event_type"));
                var traceparent = record.Header("traceparent");
                Assert.Equal(span.Id, traceparent);
                Assert.Equal(span.TraceId, ActivityContext.Parse(traceparent!, record.Header("tracestate")).TraceId);
                Assert.Equal("shop=1", record.Header("tracestate"));
                Assert.Equal("tenant=acme", record.Header("baggage"));
            }
        }
        finally
        {
            await environment.Postgres.ExecuteAsync(
                $"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}' AND NOT active");
        }
    }

    private async Task<KafkaRecord> WaitForEventAsync(string topic, Guid eventId, RelayProcess relay)
    {
        var deadline = Stopwatch.StartNew();
        var seen = 0;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var records = await KafkaTopicReader.ReadAllAsync(environment.Kafka.BootstrapServers, topic);
            seen = records.Count;
            if (records.FirstOrDefault(r => r.Header("id") == eventId.ToString()) is { } record)
                return record;
            await Task.Delay(200);
        }
        throw new Xunit.Sdk.XunitException($"Event {eventId} did not arrive on {topic} within 60 s ({seen} records there). Relay output:\n{relay.Output}");
    }
}
