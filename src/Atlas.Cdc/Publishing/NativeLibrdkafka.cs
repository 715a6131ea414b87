using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// The native librdkafka that Confluent.Kafka loaded into this process: which file, which version and which
/// built-in features. The relay logs it at start, and the sandbox's mock cluster binds to the very same handle,
/// so a process never holds two librdkafka copies (two copies would mean two sets of globals and threads).
/// </summary>
/// <remarks>
/// Confluent.Kafka loads the library from its own package (librdkafka.redist), never from the OS. On Debian 12 the
/// package's default <c>librdkafka.so</c> needs <c>libsasl2.so.3</c>, which Debian lacks, and Confluent's loader
/// falls back by itself to the package's <c>centos8-librdkafka.so</c>; nothing here interferes with that choice.
/// </remarks>
public static unsafe class NativeLibrdkafka
{
    private static readonly Lazy<IntPtr> s_handle = new(LoadSameAsConfluent);

    /// <summary>Absolute path of the librdkafka file mapped into this process.</summary>
    public static string Path => FindMappedPath()
        ?? throw new InvalidOperationException("librdkafka is not mapped into this process.");

    /// <summary>A handle to the loaded library, for <see cref="NativeLibrary.GetExport"/> and DllImport resolvers.</summary>
    public static IntPtr Handle => s_handle.Value;

    /// <summary>librdkafka's version, e.g. <c>2.16.0</c>.</summary>
    public static string Version => Library.VersionString;

    /// <summary>The build's <c>builtin.features</c>, e.g. <c>gzip,snappy,ssl,sasl,...</c>.</summary>
    public static string BuiltinFeatures
    {
        get
        {
            var confNew = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(Handle, "rd_kafka_conf_new");
            var confGet = (delegate* unmanaged<IntPtr, byte*, byte*, nuint*, int>)NativeLibrary.GetExport(Handle, "rd_kafka_conf_get");
            var confDestroy = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(Handle, "rd_kafka_conf_destroy");
            var conf = confNew();
            try
            {
                var buffer = new byte[1024];
                var size = (nuint)buffer.Length;
                var name = "builtin.features\0"u8;
                fixed (byte* namePtr = name)
                fixed (byte* valuePtr = buffer)
                {
                    if (confGet(conf, namePtr, valuePtr, &size) != 0)
                        return "unknown";
                }
                return Encoding.UTF8.GetString(buffer, 0, Math.Max(0, (int)size - 1));
            }
            finally
            {
                confDestroy(conf);
            }
        }
    }

    private static IntPtr LoadSameAsConfluent()
    {
        // Asking for the version makes Confluent.Kafka load the library the way it always does.
        _ = Library.VersionString;
        return NativeLibrary.Load(Path);
    }

    private static string? FindMappedPath()
    {
        if (!OperatingSystem.IsLinux())
            return null;
        _ = Library.VersionString;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && line.AsSpan(slash).Contains("librdkafka", StringComparison.Ordinal))
                return line[slash..];
        }
        return null;
    }
}
