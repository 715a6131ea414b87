using System.Diagnostics;
using System.Text;
using Atlas.Cdc.Tracing;

namespace Atlas.Cdc.UnitTests;

public class RowTraceContextTests
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Theory]
    [InlineData("""{"traceparent": "P"}""", "P", null)]
    [InlineData("""{"traceparent": "P", "tracestate": "S"}""", "P", "S")]
    [InlineData("""{"tracestate": "S", "other": {"traceparent": "nested"}, "traceparent": "P"}""", "P", "S")]
    [InlineData("""{"a": [1, {"b": null}], "traceparent": "P", "z": true}""", "P", null)]
    [InlineData("""{"traceparent": "first", "traceparent": "last"}""", "last", null)]
    [InlineData("""{"trace\u0070arent": "escaped name"}""", "escaped name", null)]
    public void Finds_the_top_level_traceparent_and_tracestate_strings(string json, string traceParent, string? traceState)
    {
        Assert.True(RowTraceContext.TryFind(Encoding.UTF8.GetBytes(json), out var foundParent, out var foundState));
        Assert.Equal(traceParent, foundParent);
        Assert.Equal(traceState, foundState);
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"tracestate": "S"}""")]
    [InlineData("""{"traceparent": 17}""")]
    [InlineData("""{"traceparent": null}""")]
    [InlineData("""{"nested": {"traceparent": "P"}}""")]
    [InlineData("""["traceparent", "P"]""")]
    [InlineData("\"traceparent\"")]
    [InlineData("""{"traceparent": "P" """)]
    [InlineData("not json")]
    public void Finds_nothing_where_there_is_no_top_level_traceparent_string(string json)
    {
        Assert.False(RowTraceContext.TryFind(Encoding.UTF8.GetBytes(json), out _, out _));
    }

    [Fact]
    public void Reads_a_w3c_context_as_remote_with_its_tracestate()
    {
        var json = Encoding.UTF8.GetBytes($$"""{"traceparent": "{{TraceParent}}", "tracestate": "shop=1"}""");

        Assert.True(RowTraceContext.TryRead(json, out var context));
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", context.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", context.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
        Assert.Equal("shop=1", context.TraceState);
        Assert.True(context.IsRemote);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("""{"traceparent": "t-1"}""")]
    [InlineData("""{"traceparent": "00-00000000000000000000000000000000-b7ad6b7169203331-01"}""")]
    [InlineData("""{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"}""")]
    [InlineData("""{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01"}""")]
    public void A_missing_or_malformed_traceparent_is_no_context(string? json)
    {
        Assert.False(RowTraceContext.TryRead(json is null ? null : Encoding.UTF8.GetBytes(json), out var context));
        Assert.Equal(default, context);
    }
}
