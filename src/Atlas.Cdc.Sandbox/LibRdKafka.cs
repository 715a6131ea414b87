using System.Runtime.InteropServices;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// The few librdkafka entry points the mock cluster needs; the mock API is experimental and has no managed wrapper
/// in Confluent.Kafka. They bind to the very file Confluent.Kafka loaded from its package: one librdkafka per
/// process (two copies would mean two sets of globals and threads). Only the sandbox binds them; the relay never does.
/// </summary>
internal static partial class LibRdKafka
{
    private const string Library = "librdkafka";

    private static readonly Lazy<IntPtr> s_handle = new(() => NativeLibrary.Load(LoadedPath()));

    static LibRdKafka() =>
        NativeLibrary.SetDllImportResolver(typeof(LibRdKafka).Assembly,
            (name, _, _) => name == Library ? s_handle.Value : IntPtr.Zero);

    /// <summary>The librdkafka file mapped into this process after Confluent.Kafka loaded it its own way.</summary>
    public static string LoadedPath()
    {
        _ = Confluent.Kafka.Library.VersionString;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && line.AsSpan(slash).Contains("librdkafka", StringComparison.Ordinal))
                return line[slash..];
        }
        throw new InvalidOperationException("Confluent.Kafka loaded no librdkafka file into this process.");
    }

    /// <summary>rd_kafka_type_t RD_KAFKA_PRODUCER.</summary>
    public const int ProducerType = 0;

    /// <summary>rd_kafka_conf_res_t RD_KAFKA_CONF_OK.</summary>
    public const int ConfigurationOk = 0;

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_new")]
    public static partial IntPtr ConfNew();

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ConfSet(IntPtr conf, string name, string value, [Out] byte[] errorText, nuint errorTextSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_destroy")]
    public static partial void ConfDestroy(IntPtr conf);

    [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
    public static partial IntPtr New(int type, IntPtr conf, [Out] byte[] errorText, nuint errorTextSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
    public static partial void Destroy(IntPtr handle);

    [LibraryImport(Library, EntryPoint = "rd_kafka_err2str")]
    public static partial IntPtr ErrorToString(int error);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
    public static partial IntPtr MockClusterNew(IntPtr handle, int brokerCount);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    public static partial void MockClusterDestroy(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    public static partial IntPtr MockClusterBootstraps(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_down")]
    public static partial int MockBrokerSetDown(IntPtr cluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_up")]
    public static partial int MockBrokerSetUp(IntPtr cluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_rtt")]
    public static partial int MockBrokerSetRtt(IntPtr cluster, int brokerId, int rttMilliseconds);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MockTopicCreate(IntPtr cluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
    public static partial void MockPushRequestErrorsArray(IntPtr cluster, short apiKey, nuint count, [In] int[] errors);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_clear_request_errors")]
    public static partial void MockClearRequestErrors(IntPtr cluster, short apiKey);

    /// <summary>librdkafka's name for an error code, e.g. "Broker: Topic already exists".</summary>
    public static string DescribeError(int error) => Marshal.PtrToStringUTF8(ErrorToString(error)) ?? $"error {error}";

    /// <summary>The NUL-terminated text librdkafka wrote into an error buffer.</summary>
    public static string ReadErrorText(byte[] buffer)
    {
        var length = Array.IndexOf(buffer, (byte)0);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
    }
}
