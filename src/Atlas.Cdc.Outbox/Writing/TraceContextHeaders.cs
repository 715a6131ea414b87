using System.Diagnostics;
using System.Text;

namespace Atlas.Cdc.Outbox.Writing;

/// <summary>The W3C Trace Context (<c>traceparent</c>, <c>tracestate</c>) and W3C Baggage headers of an activity.</summary>
internal static class TraceContextHeaders
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    public const string Baggage = "baggage";

    /// <summary>Adds the activity's headers; an activity with non-W3C (hierarchical) ids gives none.</summary>
    public static void AddTo(List<KeyValuePair<string, string>> headers, Activity? activity)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C || activity.Id is not { } id)
            return;
        headers.Add(new(TraceParent, id));
        if (!string.IsNullOrEmpty(activity.TraceStateString))
            headers.Add(new(TraceState, activity.TraceStateString));
        if (FormatBaggage(activity) is { } baggage)
            headers.Add(new(Baggage, baggage));
    }

    /// <summary>
    /// W3C Baggage: <c>key=value</c> pairs, comma-separated, percent-encoded. <see cref="Activity.Baggage"/> lists
    /// the nearest activity's items first, so a key set again on a child wins.
    /// </summary>
    private static string? FormatBaggage(Activity activity)
    {
        StringBuilder? text = null;
        HashSet<string>? seen = null;
        foreach (var (key, value) in activity.Baggage)
        {
            if (value is null || !(seen ??= new(StringComparer.Ordinal)).Add(key))
                continue;
            text = text is null ? new StringBuilder() : text.Append(',');
            text.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }
        return text?.ToString();
    }
}
