using System.Runtime.InteropServices;

namespace Atlas.Cdc.Publishing.Native;

/// <summary>
/// The librdkafka C functions the relay's producer calls, bound once to the library Confluent.Kafka loaded
/// (<see cref="NativeLibrdkafka.Handle"/>), so the process holds one copy of librdkafka. Signatures follow the
/// bundled <c>rdkafka.h</c> (2.16).
/// </summary>
internal static unsafe class LibrdkafkaApi
{
    public const int ProducerType = 0; // RD_KAFKA_PRODUCER
    public const int MessageFlagCopy = 0x2; // RD_KAFKA_MSG_F_COPY
    public const int ConfigOk = 0; // RD_KAFKA_CONF_OK

    public static readonly delegate* unmanaged<IntPtr> ConfNew = (delegate* unmanaged<IntPtr>)Export("rd_kafka_conf_new");
    public static readonly delegate* unmanaged<IntPtr, void> ConfDestroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_conf_destroy");
    public static readonly delegate* unmanaged<IntPtr, byte*, byte*, byte*, nuint, int> ConfSet =
        (delegate* unmanaged<IntPtr, byte*, byte*, byte*, nuint, int>)Export("rd_kafka_conf_set");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, void> ConfSetOpaque = (delegate* unmanaged<IntPtr, IntPtr, void>)Export("rd_kafka_conf_set_opaque");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, void> ConfSetDeliveryReportCallback =
        (delegate* unmanaged<IntPtr, IntPtr, void>)Export("rd_kafka_conf_set_dr_msg_cb");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, void> ConfSetErrorCallback = (delegate* unmanaged<IntPtr, IntPtr, void>)Export("rd_kafka_conf_set_error_cb");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, void> ConfSetLogCallback = (delegate* unmanaged<IntPtr, IntPtr, void>)Export("rd_kafka_conf_set_log_cb");

    public static readonly delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr> New = (delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr>)Export("rd_kafka_new");
    public static readonly delegate* unmanaged<IntPtr, void> Destroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_destroy");
    public static readonly delegate* unmanaged<IntPtr, IntPtr> Opaque = (delegate* unmanaged<IntPtr, IntPtr>)Export("rd_kafka_opaque");
    public static readonly delegate* unmanaged<IntPtr, int, int> Poll = (delegate* unmanaged<IntPtr, int, int>)Export("rd_kafka_poll");
    public static readonly delegate* unmanaged<IntPtr, byte*, nuint, int> FatalError = (delegate* unmanaged<IntPtr, byte*, nuint, int>)Export("rd_kafka_fatal_error");

    public static readonly delegate* unmanaged<IntPtr, ValueUnion*, nuint, IntPtr> ProduceVa =
        (delegate* unmanaged<IntPtr, ValueUnion*, nuint, IntPtr>)Export("rd_kafka_produceva");
    public static readonly delegate* unmanaged<nuint, IntPtr> HeadersNew = (delegate* unmanaged<nuint, IntPtr>)Export("rd_kafka_headers_new");
    public static readonly delegate* unmanaged<IntPtr, void> HeadersDestroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_headers_destroy");
    public static readonly delegate* unmanaged<IntPtr, byte*, nint, byte*, nint, int> HeaderAdd =
        (delegate* unmanaged<IntPtr, byte*, nint, byte*, nint, int>)Export("rd_kafka_header_add");

    public static readonly delegate* unmanaged<IntPtr, int> ErrorCode = (delegate* unmanaged<IntPtr, int>)Export("rd_kafka_error_code");
    public static readonly delegate* unmanaged<IntPtr, byte*> ErrorString = (delegate* unmanaged<IntPtr, byte*>)Export("rd_kafka_error_string");
    public static readonly delegate* unmanaged<IntPtr, int> ErrorIsFatal = (delegate* unmanaged<IntPtr, int>)Export("rd_kafka_error_is_fatal");
    public static readonly delegate* unmanaged<IntPtr, void> ErrorDestroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_error_destroy");

    public static readonly delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr> TopicNew = (delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr>)Export("rd_kafka_topic_new");
    public static readonly delegate* unmanaged<IntPtr, void> TopicDestroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_topic_destroy");
    public static readonly delegate* unmanaged<IntPtr, int, IntPtr, IntPtr*, int, int> Metadata =
        (delegate* unmanaged<IntPtr, int, IntPtr, IntPtr*, int, int>)Export("rd_kafka_metadata");
    public static readonly delegate* unmanaged<IntPtr, void> MetadataDestroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_metadata_destroy");

    private static IntPtr Export(string name) => NativeLibrary.GetExport(NativeLibrdkafka.Handle, name);

    /// <summary><c>rd_kafka_vtype_t</c>: what one entry of a <c>rd_kafka_produceva</c> call holds.</summary>
    public enum ValueType
    {
        End = 0,
        Topic = 1,
        Value = 4,
        Key = 5,
        Opaque = 6,
        MessageFlags = 7,
        Timestamp = 8,
        Headers = 10,
    }

    /// <summary><c>rd_kafka_vu_t</c>: a type tag and a 64-byte union (72 bytes in all on 64-bit systems).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 72)]
    public struct ValueUnion
    {
        [FieldOffset(0)] public ValueType Type;
        [FieldOffset(8)] public IntPtr Pointer;
        [FieldOffset(8)] public int Int32;
        [FieldOffset(8)] public long Int64;
        [FieldOffset(16)] public nuint Size;

        public static ValueUnion Of(ValueType type, IntPtr pointer, nuint size = 0) => new() { Type = type, Pointer = pointer, Size = size };
    }

    /// <summary><c>rd_kafka_message_t</c> as a delivery report carries it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Message
    {
        public int Error;
        public IntPtr Topic;
        public int Partition;
        public IntPtr Payload;
        public nuint Length;
        public IntPtr Key;
        public nuint KeyLength;
        public long Offset;
        public IntPtr Opaque;
    }
}
