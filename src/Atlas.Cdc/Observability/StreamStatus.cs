namespace Atlas.Cdc.Observability;

/// <summary>
/// What the relay is doing now, written by the worker alone and read by the background steps that only run while
/// the relay streams (retention, the progress recorder) and by the status endpoints.
/// </summary>
internal sealed class StreamStatus
{
    private volatile StreamState _state = StreamState.Starting;

    public StreamState State
    {
        get => _state;
        set => _state = value;
    }

    public bool IsStreaming => _state == StreamState.Streaming;
}
