namespace Atlas.Cdc.Reading;

/// <summary>bytea's text output (<c>bytea_output = hex</c>, PostgreSQL's default): <c>\x</c> and two hex digits a byte.</summary>
internal static class ByteaText
{
    /// <summary>The bytes, or null when <paramref name="text"/> is not the hex form.</summary>
    public static byte[]? Decode(ReadOnlySpan<byte> text)
    {
        if (text.Length < 2 || text[0] != (byte)'\\' || text[1] != (byte)'x' || text.Length % 2 != 0)
            return null;
        var bytes = new byte[(text.Length - 2) / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            var high = Digit(text[2 + 2 * i]);
            var low = Digit(text[3 + 2 * i]);
            if ((high | low) < 0)
                return null;
            bytes[i] = (byte)(high << 4 | low);
        }
        return bytes;
    }

    private static int Digit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
