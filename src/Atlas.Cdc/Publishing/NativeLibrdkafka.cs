using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// Points Confluent.Kafka at the operating system's librdkafka (Debian/Ubuntu package librdkafka1) when the
/// package's bundled native library is not there. Confluent's own <c>Library.Load</c> needs libdl's dev symlink,
/// so the resolver is set on the assembly instead.
/// </summary>
public static class NativeLibrdkafka
{
    private static int s_installed;

    public static void UseSystemLibraryWhenBundledIsMissing()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1)
            return;
        NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!name.Contains("librdkafka", StringComparison.Ordinal))
            return IntPtr.Zero;
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var bundled))
            return bundled;
        foreach (var candidate in new[] { "librdkafka.so.1", "librdkafka.so", "librdkafka.dylib" })
            if (NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        throw new DllNotFoundException(
            "librdkafka was not found. Install the OS package (Debian/Ubuntu: apt-get install librdkafka1).");
    }
}
