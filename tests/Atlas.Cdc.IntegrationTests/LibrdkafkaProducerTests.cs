using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Publishing;
using Atlas.Cdc.Publishing.Native;
using Confluent.Kafka;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>The relay's producer on librdkafka's C API, in this process, against the mock brokers.</summary>
[Collection(CdcCollection.Name)]
public class LibrdkafkaProducerTests(CdcEnvironment environment)
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Each_delivery_report_hands_back_its_own_state_and_a_fatal_error_arrives_with_its_cause()
    {
        var delivered = new ConcurrentDictionary<object, Error?>(ReferenceEqualityComparer.Instance);
        var errors = new ConcurrentQueue<Error>();
        using var producer = Create(delivered, errors);
        var topic = LibrdkafkaProducer.CString("native-producer-" + Guid.NewGuid().ToString("N")[..8]);
        var states = Enumerable.Range(0, 200).Select(i => new object()).ToArray();
        var message = new OutgoingMessage { Key = "key"u8.ToArray(), Value = "{}"u8.ToArray(), Timestamp = new Timestamp(DateTime.UtcNow) };
        message.Headers.Add("id", "1"u8.ToArray());
        message.Headers.Add("nothing", null);
        foreach (var state in states)
            Assert.Null(producer.Produce(topic, message, state));

        await Poll.UntilAsync("every delivery report", () => Task.FromResult(delivered.Count == states.Length), s_deadline,
            () => Task.FromResult($"{delivered.Count} of {states.Length} reports; errors: {string.Join("; ", errors)}"));
        Assert.All(states, state => Assert.Null(delivered[state]));

        Assert.Equal(0, InjectFatalError(producer, ErrorCode.OutOfOrderSequenceNumber, "injected by the test"));

        await Poll.UntilAsync("the fatal error", () => Task.FromResult(errors.Any(e => e.IsFatal)), s_deadline,
            () => Task.FromResult($"errors: {string.Join("; ", errors)}"));
        var fatal = errors.First(e => e.IsFatal);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, fatal.Code);
        Assert.Contains("injected by the test", fatal.Reason, StringComparison.Ordinal);

        var refused = producer.Produce(topic, new OutgoingMessage(), new object());
        Assert.NotNull(refused);
        Assert.True(refused.IsFatal, $"after a fatal error a produce must be refused as fatal, got {refused}");
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, refused.Code);
    }

    [Fact]
    public void A_property_librdkafka_does_not_know_or_refuses_is_named_in_the_error()
    {
        var unknown = Assert.Throws<ArgumentException>(() => Create(config: new() { ["no.such.property"] = "1" }));
        Assert.Contains("no.such.property", unknown.Message, StringComparison.Ordinal);
        var refused = Assert.Throws<ArgumentException>(() => Create(config: new() { ["linger.ms"] = "soon" }));
        Assert.Contains("linger.ms", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_twice_is_harmless_and_a_disposed_producer_refuses_to_produce()
    {
        var producer = Create();
        producer.Dispose();
        producer.Dispose();
        Assert.Throws<ObjectDisposedException>(() =>
            producer.Produce(LibrdkafkaProducer.CString("any"), new OutgoingMessage(), new object()));
    }

    /// <summary>librdkafka's own test hook: raises a fatal error on the client as if a broker had caused it.</summary>
    private static unsafe int InjectFatalError(LibrdkafkaProducer producer, ErrorCode code, string reason)
    {
        var inject = (delegate* unmanaged<IntPtr, int, byte*, int>)NativeLibrary.GetExport(NativeLibrdkafka.Handle, "rd_kafka_test_fatal_error");
        fixed (byte* text = LibrdkafkaProducer.CString(reason))
            return inject(producer.ClientHandle, (int)code, text);
    }

    private LibrdkafkaProducer Create(ConcurrentDictionary<object, Error?>? delivered = null, ConcurrentQueue<Error>? errors = null,
        Dictionary<string, string>? config = null)
    {
        var kafka = new KafkaOptions { BootstrapServers = environment.Kafka.BootstrapServers };
        foreach (var (name, value) in config ?? [])
            kafka.Properties[name] = value;
        return new LibrdkafkaProducer(ProducerSettings.Build(kafka), (state, error) => delivered?.TryAdd(state, error),
            error => errors?.Enqueue(error), (_, _, _) => { });
    }
}
