using System.Buffers;
using System.Text;
using System.Text.Json;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;
using Confluent.Kafka;

namespace Atlas.Cdc.Schemas.CloudEvents;

/// <summary>
/// CloudEvents 1.0, Kafka protocol binding. Binary mode adds the attributes as <c>ce_*</c> headers and the value's
/// media type as <c>content-type</c>; structured mode replaces the value with the JSON envelope (Json format only).
/// id = the row's id, source = <c>Cdc:CloudEvents:Source</c>, type = event_type, subject = aggregate_id,
/// time = the commit time. Used on the publishing loop only.
/// </summary>
internal sealed class CloudEventsWriter(CloudEventsMode mode, string source, string database)
{
    public const string StructuredContentType = "application/cloudevents+json";

    private static readonly byte[] s_specVersion = "1.0"u8.ToArray();
    private const string SpecVersionHeader = "ce_specversion";
    private const string IdHeader = "ce_id";
    private const string SourceHeader = "ce_source";
    private const string TypeHeader = "ce_type";
    private const string SubjectHeader = "ce_subject";
    private const string TimeHeader = "ce_time";
    private const string ContentTypeHeader = "content-type";
    private readonly byte[]? _source = source.Length > 0 ? Encoding.UTF8.GetBytes(source) : null;
    private readonly ArrayBufferWriter<byte> _envelope = new(1024);
    private byte[]?[] _outboxSources = [];

    /// <summary>The database name the default source names.</summary>
    public static string DatabaseOf(CdcOptions options) =>
        new Npgsql.NpgsqlConnectionStringBuilder(options.Postgres.ConnectionString).Database ?? "postgres";

    /// <summary><c>Cdc:CloudEvents:Source</c>, or by default <c>/atlas-cdc/&lt;database&gt;/&lt;table&gt;</c> of the event's outbox.</summary>
    private byte[] SourceOf(OutboxEvent outboxEvent)
    {
        if (_source is not null)
            return _source;
        var index = outboxEvent.OutboxIndex;
        if (index >= _outboxSources.Length)
            Array.Resize(ref _outboxSources, index + 1);
        return _outboxSources[index] ??= Encoding.UTF8.GetBytes($"/atlas-cdc/{database}/{outboxEvent.Outbox?.Table.ToString() ?? "public.outbox"}");
    }

    public void Apply(Message<byte[]?, byte[]?> message, OutboxEvent outboxEvent, TrackedTransaction transaction, string contentType)
    {
        var time = transaction.CommitTimeHeader; // RFC 3339, formatted once per transaction
        if (mode == CloudEventsMode.Binary)
        {
            var headers = message.Headers;
            headers.Add(SpecVersionHeader, s_specVersion);
            headers.Add(IdHeader, outboxEvent.Id);
            headers.Add(SourceHeader, SourceOf(outboxEvent));
            headers.Add(TypeHeader, outboxEvent.EventType);
            headers.Add(SubjectHeader, outboxEvent.AggregateId);
            headers.Add(TimeHeader, time);
            headers.Add(ContentTypeHeader, Encoding.UTF8.GetBytes(contentType));
            return;
        }

        _envelope.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_envelope))
        {
            json.WriteStartObject();
            json.WriteString("specversion"u8, s_specVersion);
            json.WriteString("id"u8, outboxEvent.Id);
            json.WriteString("source"u8, SourceOf(outboxEvent));
            json.WriteString("type"u8, outboxEvent.EventType);
            json.WriteString("subject"u8, outboxEvent.AggregateId);
            json.WriteString("time"u8, time);
            json.WriteString("datacontenttype"u8, "application/json"u8);
            json.WritePropertyName("data"u8);
            json.WriteRawValue(message.Value, skipInputValidation: true); // jsonb text: always valid JSON
            json.WriteEndObject();
        }
        message.Value = _envelope.WrittenSpan.ToArray();
        message.Headers.Add(ContentTypeHeader, Encoding.UTF8.GetBytes(StructuredContentType));
    }
}
