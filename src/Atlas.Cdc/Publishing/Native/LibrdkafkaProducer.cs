using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace Atlas.Cdc.Publishing.Native;

/// <summary>
/// An idempotent librdkafka producer driven through the C API: one <c>rd_kafka_produceva</c> call per message with
/// its headers, and one native delivery callback that hands the message's own state back, with no per-message
/// report object. Confluent.Kafka's <c>Produce</c> marshalled every header apart (a new key array, two pinned
/// handles and a native call each) and built a report object per delivery through an interface cast: the largest
/// share of the relay's own CPU per event (docs/benchmarks.md). Confluent.Kafka still loads the library and
/// supplies <see cref="Error"/> and <see cref="Timestamp"/>; the message itself is the relay's <see cref="OutgoingMessage"/>.
/// </summary>
/// <remarks>
/// Delivery reports, errors and warnings are served on one thread of this class's own, which polls librdkafka.
/// Callbacks must not throw: an exception cannot cross back into C.
/// </remarks>
internal sealed unsafe class LibrdkafkaProducer : IDisposable
{
    private const int PollTimeoutMs = 100;
    private const int ErrorBufferSize = 512;
    private const int LocalFatal = (int)ErrorCode.Local_Fatal;

    private readonly IntPtr _handle;
    private readonly Action<object, Error?> _delivered;
    private readonly Action<Error> _error;
    private readonly Action<int, string, string> _log;
    private readonly Thread _poller;
    private GCHandle _self;
    private volatile bool _stopping;
    private int _disposed;

    /// <param name="config">librdkafka properties, applied in order; an unknown name or refused value throws <see cref="ArgumentException"/>.</param>
    /// <param name="delivered">Called on the polling thread with the state given to <see cref="Produce"/> and null, or the error that ended its delivery.</param>
    /// <param name="error">Called with librdkafka's client-level errors (brokers down, fatal idempotence errors).</param>
    /// <param name="log">Called with librdkafka's log lines of level warning or worse: syslog level, facility, text.</param>
    public LibrdkafkaProducer(IEnumerable<KeyValuePair<string, string>> config, Action<object, Error?> delivered, Action<Error> error,
        Action<int, string, string> log)
    {
        _delivered = delivered;
        _error = error;
        _log = log;
        _self = GCHandle.Alloc(this);
        var conf = LibrdkafkaApi.ConfNew();
        var errorBuffer = stackalloc byte[ErrorBufferSize];
        try
        {
            foreach (var (name, value) in config)
            {
                fixed (byte* namePtr = CString(name))
                fixed (byte* valuePtr = CString(value))
                {
                    if (LibrdkafkaApi.ConfSet(conf, namePtr, valuePtr, errorBuffer, ErrorBufferSize) != LibrdkafkaApi.ConfigOk)
                        // Named as given: librdkafka names an alias by its canonical name (linger.ms as queue.buffering.max.ms).
                        throw new ArgumentException($"{name}: {Marshal.PtrToStringUTF8((IntPtr)errorBuffer)}");
                }
            }
            LibrdkafkaApi.ConfSetOpaque(conf, GCHandle.ToIntPtr(_self));
            LibrdkafkaApi.ConfSetDeliveryReportCallback(conf, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, LibrdkafkaApi.Message*, IntPtr, void>)&OnDeliveryReport);
            LibrdkafkaApi.ConfSetErrorCallback(conf, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, int, byte*, IntPtr, void>)&OnError);
            LibrdkafkaApi.ConfSetLogCallback(conf, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, int, byte*, byte*, void>)&OnLog);
            _handle = LibrdkafkaApi.New(LibrdkafkaApi.ProducerType, conf, errorBuffer, ErrorBufferSize);
            if (_handle == IntPtr.Zero)
                throw new KafkaException(new Error(ErrorCode.Local_Fail, Marshal.PtrToStringUTF8((IntPtr)errorBuffer)));
            // rd_kafka_new owns the configuration from here on.
            conf = IntPtr.Zero;
        }
        catch
        {
            if (conf != IntPtr.Zero)
                LibrdkafkaApi.ConfDestroy(conf);
            _self.Free();
            throw;
        }
        _poller = new Thread(PollUntilStopped) { IsBackground = true, Name = "librdkafka poll" };
        _poller.Start();
    }

    /// <summary>The <c>rd_kafka_t</c> itself, for librdkafka's test hooks (<c>rd_kafka_test_fatal_error</c>).</summary>
    internal IntPtr ClientHandle => _handle;

    /// <summary>
    /// Queues one message (librdkafka copies key, value and headers, so <paramref name="message"/> may be reused at
    /// once). Returns null when queued: <paramref name="state"/> then comes back through the delivery callback exactly
    /// once. Returns the error when the message was not queued.
    /// </summary>
    /// <param name="topic">The topic's name in UTF-8, ending with a NUL byte.</param>
    public Error? Produce(byte[] topic, OutgoingMessage message, object state)
    {
        // A destroyed client must never be called: librdkafka would read freed memory.
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var key = message.Key;
        var value = message.Value;
        var timestamp = message.Timestamp;
        var nativeHeaders = message.Headers.Count > 0 ? NativeHeaders(message.Headers) : IntPtr.Zero;
        var opaque = GCHandle.Alloc(state);
        var values = stackalloc LibrdkafkaApi.ValueUnion[7];
        IntPtr failure;
        fixed (byte* topicBytes = topic)
        // Pinned through the array's data reference, so an empty key or value has an address (and stays empty, not null).
        fixed (byte* keyData = &MemoryMarshal.GetArrayDataReference(key ?? []))
        fixed (byte* valueData = &MemoryMarshal.GetArrayDataReference(value ?? []))
        {
            var keyBytes = key is null ? null : keyData;
            var valueBytes = value is null ? null : valueData;
            var count = 0;
            values[count++] = LibrdkafkaApi.ValueUnion.Of(LibrdkafkaApi.ValueType.Topic, (IntPtr)topicBytes);
            values[count++] = LibrdkafkaApi.ValueUnion.Of(LibrdkafkaApi.ValueType.Key, (IntPtr)keyBytes, (nuint)(key?.Length ?? 0));
            values[count++] = LibrdkafkaApi.ValueUnion.Of(LibrdkafkaApi.ValueType.Value, (IntPtr)valueBytes, (nuint)(value?.Length ?? 0));
            values[count++] = new() { Type = LibrdkafkaApi.ValueType.MessageFlags, Int32 = LibrdkafkaApi.MessageFlagCopy };
            values[count++] = LibrdkafkaApi.ValueUnion.Of(LibrdkafkaApi.ValueType.Opaque, GCHandle.ToIntPtr(opaque));
            if (timestamp.Type != TimestampType.NotAvailable)
                values[count++] = new() { Type = LibrdkafkaApi.ValueType.Timestamp, Int64 = timestamp.UnixTimestampMs };
            if (nativeHeaders != IntPtr.Zero)
                values[count++] = LibrdkafkaApi.ValueUnion.Of(LibrdkafkaApi.ValueType.Headers, nativeHeaders);
            failure = LibrdkafkaApi.ProduceVa(_handle, values, (nuint)count);
        }
        if (failure == IntPtr.Zero)
            return null;

        // Not queued: the headers and the state are still ours.
        opaque.Free();
        if (nativeHeaders != IntPtr.Zero)
            LibrdkafkaApi.HeadersDestroy(nativeHeaders);
        var code = LibrdkafkaApi.ErrorCode(failure);
        var error = code == LocalFatal
            ? FatalError()
            : new Error((ErrorCode)code, Marshal.PtrToStringUTF8((IntPtr)LibrdkafkaApi.ErrorString(failure)), LibrdkafkaApi.ErrorIsFatal(failure) != 0);
        LibrdkafkaApi.ErrorDestroy(failure);
        return error;
    }

    /// <summary>Asks the brokers for one topic's metadata and waits up to <paramref name="timeout"/>; returns librdkafka's answer.</summary>
    public ErrorCode RequestMetadata(string topic, TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var name = CString(topic);
        IntPtr metadata;
        IntPtr topicHandle;
        fixed (byte* namePtr = name)
            topicHandle = LibrdkafkaApi.TopicNew(_handle, namePtr, IntPtr.Zero);
        if (topicHandle == IntPtr.Zero)
            return ErrorCode.Local_InvalidArg;
        try
        {
            var result = LibrdkafkaApi.Metadata(_handle, 0, topicHandle, &metadata, (int)timeout.TotalMilliseconds);
            if (result == 0)
                LibrdkafkaApi.MetadataDestroy(metadata);
            return (ErrorCode)result;
        }
        finally
        {
            LibrdkafkaApi.TopicDestroy(topicHandle);
        }
    }

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>, as the C API takes names.</summary>
    public static byte[] CString(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    private static IntPtr NativeHeaders(OutgoingHeaders headers)
    {
        var count = headers.Count;
        var native = LibrdkafkaApi.HeadersNew((nuint)count);
        for (var i = 0; i < count; i++)
        {
            var (name, value) = headers[i];
            // Explicit lengths: a name may hold any character, a value any byte; a null value stays null, an empty one empty.
            fixed (byte* namePtr = name.Utf8)
            fixed (byte* valueData = &MemoryMarshal.GetArrayDataReference(value ?? []))
                LibrdkafkaApi.HeaderAdd(native, namePtr, name.Utf8.Length, value is null ? null : valueData, value?.Length ?? 0);
        }
        return native;
    }

    private Error FatalError()
    {
        var buffer = stackalloc byte[ErrorBufferSize];
        var code = LibrdkafkaApi.FatalError(_handle, buffer, ErrorBufferSize);
        return code == 0
            ? new Error(ErrorCode.Local_Fatal, "fatal error (no detail from librdkafka)", isFatal: true)
            : new Error((ErrorCode)code, Marshal.PtrToStringUTF8((IntPtr)buffer), isFatal: true);
    }

    private void PollUntilStopped()
    {
        while (!_stopping)
            LibrdkafkaApi.Poll(_handle, PollTimeoutMs);
    }

    private static LibrdkafkaProducer From(IntPtr opaque) => (LibrdkafkaProducer)GCHandle.FromIntPtr(opaque).Target!;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnDeliveryReport(IntPtr handle, LibrdkafkaApi.Message* message, IntPtr opaque)
    {
        if (message->Opaque == IntPtr.Zero)
            return;
        var producer = From(opaque);
        var stateHandle = GCHandle.FromIntPtr(message->Opaque);
        var state = stateHandle.Target!;
        stateHandle.Free();
        var error = message->Error == 0 ? null
            : message->Error == LocalFatal ? producer.FatalError()
            : new Error((ErrorCode)message->Error);
        try
        {
            producer._delivered(state, error);
        }
        catch (Exception e)
        {
            producer._error(new Error(ErrorCode.Local_Fail, $"delivery report handler failed: {e}", isFatal: true));
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnError(IntPtr handle, int code, byte* reason, IntPtr opaque)
    {
        var producer = From(opaque);
        var error = code == LocalFatal ? producer.FatalError() : new Error((ErrorCode)code, Marshal.PtrToStringUTF8((IntPtr)reason), isFatal: false);
        try
        {
            producer._error(error);
        }
        catch (Exception)
        {
            // Nothing can be reported from here; the error handler only logs and records.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(IntPtr handle, int level, byte* facility, byte* text)
    {
        // Syslog levels: 4 is warning. Debug and info lines are not turned into strings at all.
        if (level > 4)
            return;
        var opaque = LibrdkafkaApi.Opaque(handle);
        if (opaque == IntPtr.Zero)
            return;
        try
        {
            From(opaque)._log(level, Marshal.PtrToStringUTF8((IntPtr)facility) ?? "", Marshal.PtrToStringUTF8((IntPtr)text) ?? "");
        }
        catch (Exception)
        {
            // A logging failure must not cross into librdkafka's thread.
        }
    }

    /// <summary>Stops serving callbacks and destroys the client; messages not yet delivered are dropped, unconfirmed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping = true;
        _poller.Join();
        LibrdkafkaApi.Destroy(_handle);
        _self.Free();
    }
}
