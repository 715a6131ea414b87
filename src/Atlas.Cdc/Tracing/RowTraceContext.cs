using System.Diagnostics;
using System.Text.Json;

namespace Atlas.Cdc.Tracing;

/// <summary>
/// The W3C trace context an outbox row carries in its <c>headers</c> object (<c>traceparent</c> and <c>tracestate</c>,
/// written by the writer library from the writer's current <c>Activity</c>).
/// </summary>
internal static class RowTraceContext
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    /// <summary>
    /// Reads the context from the <c>headers</c> column's JSON. False when the column is absent, is not a JSON object,
    /// or holds no <c>traceparent</c> string that parses as W3C Trace Context.
    /// </summary>
    public static bool TryRead(byte[]? headersJson, out ActivityContext context)
    {
        context = default;
        if (headersJson is null || !TryFind(headersJson, out var traceParent, out var traceState))
            return false;
        return ActivityContext.TryParse(traceParent, traceState, isRemote: true, out context);
    }

    /// <summary>The string values of the object's top-level <c>traceparent</c> and <c>tracestate</c> entries.</summary>
    internal static bool TryFind(ReadOnlySpan<byte> json, out string? traceParent, out string? traceState)
    {
        traceParent = null;
        traceState = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isParent = reader.ValueTextEquals(TraceParent);
                var isState = !isParent && reader.ValueTextEquals(TraceState);
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && (isParent || isState))
                {
                    // jsonb keeps the last of duplicate keys; so does this.
                    if (isParent)
                        traceParent = reader.GetString();
                    else
                        traceState = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false; // the message factory carries such a column raw and warns; it has no trace context
        }
        return traceParent is not null;
    }
}
