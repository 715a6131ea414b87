using System.Text;

namespace Atlas.Cdc.Sandbox;

/// <summary>The server log written by <c>pg_ctl -l</c>: read while the server writes it, for diagnostics and start-up checks.</summary>
internal sealed class ServerLog(string path)
{
    private const int TailBytes = 64 * 1024;

    public string Path { get; } = path;

    /// <summary>Its length now; with <see cref="Since"/>, what the server wrote in between.</summary>
    public long Length => File.Exists(Path) ? new FileInfo(Path).Length : 0;

    /// <summary>The last <paramref name="lines"/> lines, or a note saying why the log cannot be read. Never throws.</summary>
    public string Tail(int lines)
    {
        try
        {
            using var stream = Open();
            stream.Seek(Math.Max(0, stream.Length - TailBytes), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"(server log {Path} not readable: {ex.Message})";
        }
    }

    /// <summary>Everything written after <paramref name="offset"/> (a former <see cref="Length"/>); empty when unreadable.</summary>
    public string Since(long offset)
    {
        try
        {
            using var stream = Open();
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private FileStream Open() => new(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
}
