using System.IO.Compression;
using Atlas.Cdc.Sandbox.Otlp.Proto;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Atlas.Cdc.Sandbox.Otlp;

/// <summary>
/// An OTLP/HTTP trace receiver for tests: what an OpenTelemetry Collector's <c>otlp</c> receiver does for
/// <c>POST /v1/traces</c> with a protobuf body (<c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>), on Kestrel at
/// 127.0.0.1 on a free port. It decodes each export with messages generated from <c>Otlp/Protos</c> (written from the
/// protocol's field numbers; it shares no code with the exporter) and keeps every span in memory for tests to read.
/// </summary>
public sealed class OtlpTraceReceiver : IAsyncDisposable
{
    /// <summary>The OTLP/HTTP path of trace exports.</summary>
    public const string TracesPath = "/v1/traces";

    private const string ProtobufContentType = "application/x-protobuf";
    private static readonly byte[] s_emptyResponse = new ExportTraceServiceResponse().ToByteArray();

    private WebApplication _app = null!;
    private readonly Lock _lock = new();
    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<string> _rejected = [];
    private long _exports;

    /// <summary>The base URL for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, e.g. <c>http://127.0.0.1:41234</c> (the exporter adds <see cref="TracesPath"/>).</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Export requests decoded so far.</summary>
    public long Exports => Interlocked.Read(ref _exports);

    /// <summary>Every span received so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_lock)
                return [.. _spans];
        }
    }

    /// <summary>Why requests were refused (not a POST of protobuf to <see cref="TracesPath"/>, or a body that does not decode).</summary>
    public IReadOnlyList<string> Rejected
    {
        get
        {
            lock (_lock)
                return [.. _rejected];
        }
    }

    /// <summary>Starts the receiver on a free port (or <paramref name="port"/>).</summary>
    /// <param name="port">0 for a free port.</param>
    /// <returns>The running receiver; dispose it to stop.</returns>
    public static async Task<OtlpTraceReceiver> StartAsync(int port = 0)
    {
        var receiver = new OtlpTraceReceiver();
        (receiver._app, receiver.Endpoint) = await LocalWebApp.StartAsync(port, app => app.MapPost(TracesPath, receiver.ExportAsync));
        return receiver;
    }

    private async Task<IResult> ExportAsync(HttpRequest request)
    {
        if (request.ContentType?.Split(';')[0].Trim() != ProtobufContentType)
            return Reject(StatusCodes.Status415UnsupportedMediaType, $"content type '{request.ContentType}' (only {ProtobufContentType} is decoded)");

        using var body = new MemoryStream();
        var input = string.Equals(request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(request.Body, CompressionMode.Decompress)
            : request.Body;
        await using (input)
            await input.CopyToAsync(body);

        ExportTraceServiceRequest export;
        try
        {
            export = ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray());
        }
        catch (InvalidProtocolBufferException e)
        {
            return Reject(StatusCodes.Status400BadRequest, $"a body of {body.Length} bytes that does not decode: {e.Message}");
        }

        var spans = Flatten(export).ToList();
        lock (_lock)
            _spans.AddRange(spans);
        Interlocked.Increment(ref _exports);
        return Results.Bytes(s_emptyResponse, ProtobufContentType);
    }

    private IResult Reject(int status, string why)
    {
        lock (_lock)
            _rejected.Add(why);
        return Results.StatusCode(status);
    }

    /// <summary>The request's spans, each with its resource and scope.</summary>
    internal static IEnumerable<ReceivedSpan> Flatten(ExportTraceServiceRequest export)
    {
        foreach (var resourceSpans in export.ResourceSpans)
        {
            var resource = Attributes(resourceSpans.Resource?.Attributes ?? []);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                var scope = scopeSpans.Scope?.Name ?? "";
                foreach (var span in scopeSpans.Spans)
                {
                    yield return new ReceivedSpan(
                        Hex(span.TraceId),
                        Hex(span.SpanId),
                        span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId),
                        span.TraceState,
                        span.Flags,
                        span.Name,
                        span.Kind.ToString(),
                        span.StartTimeUnixNano,
                        span.EndTimeUnixNano,
                        Attributes(span.Attributes),
                        (span.Status?.Code ?? Status.Types.StatusCode.Unset).ToString(),
                        span.Status?.Message ?? "",
                        [.. span.Links.Select(link => new ReceivedSpanLink(Hex(link.TraceId), Hex(link.SpanId), link.TraceState))],
                        scope,
                        resource);
                }
            }
        }
    }

    private static Dictionary<string, object?> Attributes(IEnumerable<KeyValue> attributes) =>
        attributes.ToDictionary(a => a.Key, a => Value(a.Value), StringComparer.Ordinal);

    private static object? Value(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue,
        AnyValue.ValueOneofCase.BytesValue => value.BytesValue.ToByteArray(),
        AnyValue.ValueOneofCase.ArrayValue => value.ArrayValue.Values.Select(Value).ToArray(),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(value.KvlistValue.Values),
        _ => null,
    };

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    /// <summary>Stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
