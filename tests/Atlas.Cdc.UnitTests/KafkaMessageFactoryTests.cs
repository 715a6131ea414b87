using System.Text;
using Atlas.Cdc.Events;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Offsets;
using Confluent.Kafka;

namespace Atlas.Cdc.UnitTests;

public class KafkaMessageFactoryTests
{
    private static readonly KafkaMessageFactory s_factory = new([new TopicNamer("outbox.event.{aggregate_type}")]);

    private static OutboxEvent Event(string payload = "{\"total\": 10}", string? headers = null) => new()
    {
        Id = Encoding.UTF8.GetBytes("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10"),
        AggregateType = "Order",
        AggregateId = Encoding.UTF8.GetBytes("order-42"),
        EventType = Encoding.UTF8.GetBytes("OrderPlaced"),
        Payload = Encoding.UTF8.GetBytes(payload),
        Headers = headers is null ? null : Encoding.UTF8.GetBytes(headers),
    };

    private static TrackedTransaction Transaction() =>
        new AcknowledgementTracker(10, 1000).Begin(0x16B3748, new DateTimeOffset(2026, 11, 22, 5, 3, 0, 123, 456, TimeSpan.Zero));

    private static string? Header(Message<byte[]?, byte[]?> message, string name) =>
        message.Headers.TryGetLastBytes(name, out var value) ? value is null ? null : Encoding.UTF8.GetString(value) : "<absent>";

    [Fact]
    public void Key_is_the_aggregate_id_value_is_the_payload_and_headers_follow_the_contract()
    {
        var outboxEvent = Event();
        var message = s_factory.Create(outboxEvent, Transaction(), out var warning);

        Assert.Null(warning);
        Assert.Equal("outbox.event.Order", s_factory.TopicFor(outboxEvent).Name);
        Assert.Equal("order-42", Encoding.UTF8.GetString(message.Key!));
        Assert.Equal("{\"total\": 10}", Encoding.UTF8.GetString(message.Value!));
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", Header(message, "id"));
        Assert.Equal("OrderPlaced", Header(message, "event_type"));
        Assert.Equal("Order", Header(message, "aggregate_type"));
        Assert.Equal("0/16B3748", Header(message, "atlas.commit_lsn"));
        Assert.Equal("2026-11-22T05:03:00.123456Z", Header(message, "atlas.commit_time"));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 5, 3, 0, 123, 456, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            message.Timestamp.UnixTimestampMs);
    }

    [Fact]
    public void Row_headers_carry_strings_as_they_are_and_other_values_as_json_text()
    {
        var message = s_factory.Create(
            Event(headers: """{"traceparent": "00-abc-def-01", "retries": 3, "nested": {"a": [1, 2]}, "flag": true, "nothing": null, "uni": "h\u00e9llo \u2713"}"""),
            Transaction(), out var warning);

        Assert.Null(warning);
        Assert.Equal("00-abc-def-01", Header(message, "traceparent"));
        Assert.Equal("3", Header(message, "retries"));
        Assert.Equal("""{"a": [1, 2]}""", Header(message, "nested"));
        Assert.Equal("true", Header(message, "flag"));
        Assert.Null(Header(message, "nothing"));
        Assert.Equal("héllo ✓", Header(message, "uni"));
    }

    [Theory]
    [InlineData("[1, 2, 3]", "array")]
    [InlineData("\"just a string\"", "string")]
    [InlineData("42", "number")]
    public void Headers_that_are_not_an_object_are_carried_raw_with_a_warning(string headers, string kind)
    {
        var message = s_factory.Create(Event(headers: headers), Transaction(), out var warning);

        Assert.Contains(kind, warning);
        Assert.Equal(headers, Header(message, "atlas.headers"));
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", Header(message, "id"));
    }

    [Fact]
    public void Json_null_headers_add_nothing()
    {
        var message = s_factory.Create(Event(headers: "null"), Transaction(), out var warning);
        Assert.Null(warning);
        Assert.Equal(5, message.Headers.Count);
    }

    [Fact]
    public void Row_headers_cannot_replace_the_relays_own()
    {
        var message = s_factory.Create(Event(headers: """{"id": "forged", "atlas.commit_lsn": "0/0", "tenant": "t1"}"""),
            Transaction(), out var warning);

        Assert.Contains("'id'", warning);
        Assert.Contains("'atlas.commit_lsn'", warning);
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", Header(message, "id"));
        Assert.Equal("0/16B3748", Header(message, "atlas.commit_lsn"));
        Assert.Equal("t1", Header(message, "tenant"));
    }

    [Fact]
    public void Dead_letter_record_names_the_event_the_topic_and_the_reason_and_drops_a_payload_too_large()
    {
        var outboxEvent = Event(payload: new string('x', 2000));
        var record = s_factory.CreateDeadLetter(outboxEvent, Transaction(), "outbox.event.Order", "Message size too large", maxPayloadBytes: 1000);

        Assert.Null(record.Value);
        Assert.True(record.Headers.TryGetLastBytes("id", out var id));
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", Encoding.UTF8.GetString(id!));
        Assert.True(record.Headers.TryGetLastBytes("atlas.dlq.original_topic", out var topic));
        Assert.Equal("outbox.event.Order", Encoding.UTF8.GetString(topic!));
        Assert.True(record.Headers.TryGetLastBytes("atlas.dlq.reason", out var reason));
        Assert.Equal("Message size too large", Encoding.UTF8.GetString(reason!));
        Assert.True(record.Headers.TryGetLastBytes("atlas.dlq.payload_bytes", out var size));
        Assert.Equal("2000", Encoding.UTF8.GetString(size!));
    }
    [Fact]
    public void Dead_letter_cuts_huge_key_and_headers_on_a_character_boundary_and_says_so()
    {
        var hugeKey = string.Concat(Enumerable.Repeat("é", 3000)); // 6000 bytes of two-byte characters
        var outboxEvent = new OutboxEvent
        {
            Id = Encoding.UTF8.GetBytes("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10"),
            AggregateType = "Order",
            AggregateId = Encoding.UTF8.GetBytes(hugeKey),
            EventType = Encoding.UTF8.GetBytes(new string('E', 10_000)),
            Payload = Encoding.UTF8.GetBytes("{}"),
        };
        var message = s_factory.CreateDeadLetter(outboxEvent, Transaction(), "outbox.event.Order", "too large", 1000);

        Assert.Equal(hugeKey[..2048], Encoding.UTF8.GetString(message.Key!)); // 4096 bytes = 2048 whole characters
        Assert.True(message.Headers.TryGetLastBytes("event_type", out var eventType));
        Assert.Equal(KafkaMessageFactory.MaxDeadLetterFieldBytes, eventType!.Length);
        Assert.True(message.Headers.TryGetLastBytes("atlas.dlq.truncated", out var truncated));
        Assert.Equal("event_type,key", Encoding.UTF8.GetString(truncated!));
        Assert.True(message.Headers.TryGetLastBytes("id", out var id));
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", Encoding.UTF8.GetString(id!));
    }

    [Fact]
    public void Dead_letter_of_an_ordinary_event_has_no_truncation_header()
    {
        var message = s_factory.CreateDeadLetter(Event(), Transaction(), "outbox.event.Order", "too large", 1000);
        Assert.False(message.Headers.TryGetLastBytes("atlas.dlq.truncated", out _));
        Assert.Equal("order-42", Encoding.UTF8.GetString(message.Key!));
    }

    [Fact]
    public async Task Events_and_dead_letters_built_at_once_on_two_threads_carry_their_own_transactions_lsn_and_commit_time()
    {
        // The publishing loop builds events while librdkafka's delivery thread builds dead letters, through one
        // factory, for different transactions. Every header must belong to the transaction it was built for.
        var factory = new KafkaMessageFactory([new TopicNamer("outbox.event.{aggregate_type}")]);
        var tracker = new AcknowledgementTracker(10, 1000);
        var epoch = new DateTimeOffset(2026, 11, 22, 5, 3, 0, TimeSpan.Zero);
        var transactions = Enumerable.Range(1, 2000)
            .Select(i => tracker.Begin(0x1000000UL * (ulong)i, epoch.AddTicks(i * 10L)))
            .ToArray();
        var mismatches = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var start = new Barrier(2);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        void Check(Headers headers, TrackedTransaction transaction, string kind)
        {
            var lsn = headers.TryGetLastBytes("atlas.commit_lsn", out var lsnBytes) ? Encoding.UTF8.GetString(lsnBytes!) : "<absent>";
            var time = headers.TryGetLastBytes("atlas.commit_time", out var timeBytes) ? Encoding.UTF8.GetString(timeBytes!) : "<absent>";
            var expectedLsn = new NpgsqlTypes.NpgsqlLogSequenceNumber(transaction.CommitLsn).ToString();
            var expectedTime = transaction.CommitTime.UtcDateTime.ToString(HeaderValues.CommitTimeFormat, System.Globalization.CultureInfo.InvariantCulture);
            if (lsn != expectedLsn || time != expectedTime)
                mismatches.Enqueue($"{kind} of the transaction at {expectedLsn} ({expectedTime}) carried {lsn} ({time})");
        }

        Task Build(bool deadLetters) => Task.Run(() =>
        {
            start.SignalAndWait();
            // Rounds until a mismatch shows or 2 s pass; the two threads take alternate transactions, so the
            // transaction changes on every call of each.
            for (var round = 0; stopwatch.Elapsed < TimeSpan.FromSeconds(2) && mismatches.IsEmpty; round++)
            {
                for (var i = deadLetters ? 1 : 0; i < transactions.Length; i += 2)
                {
                    var transaction = transactions[i];
                    if (deadLetters)
                        Check(factory.CreateDeadLetter(Event(), transaction, "outbox.event.Order", "refused", 1000).Headers, transaction, "dead letter");
                    else
                        Check(factory.Create(Event(), transaction, out _).Headers, transaction, "event");
                }
            }
        });

        await Task.WhenAll(Build(deadLetters: false), Build(deadLetters: true));
        Assert.True(mismatches.IsEmpty, $"{mismatches.Count} messages carried another transaction's headers, e.g. {mismatches.FirstOrDefault()}");
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(0x16B3748UL)]
    [InlineData(0x1_0000_0000UL)]
    [InlineData(0xABCDEF01_23456789UL)]
    [InlineData(ulong.MaxValue)]
    public void Commit_lsn_header_is_the_lsn_as_postgresql_prints_it(ulong lsn) =>
        Assert.Equal(new NpgsqlTypes.NpgsqlLogSequenceNumber(lsn).ToString(), Encoding.UTF8.GetString(HeaderValues.CommitLsn(lsn)));

    [Fact]
    public void Cutting_never_splits_a_four_byte_character()
    {
        var value = Encoding.UTF8.GetBytes("a" + string.Concat(Enumerable.Repeat("𝄞", 2000))); // 1 + 8000 bytes
        var cut = KafkaMessageFactory.Bounded(value, "key", []);
        Assert.Equal(4093, cut.Length); // 1 + 1023 whole characters; the 1024th would end at byte 4097
        Assert.Equal("a" + string.Concat(Enumerable.Repeat("𝄞", 1023)), Encoding.UTF8.GetString(cut));
    }
}
