using System.Text;
using System.Text.Json;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Parses kcat's <c>-J</c> envelope at the byte level. kcat writes key, payload and header bytes into the
/// JSON strings verbatim, escaping only <c>"</c>, <c>\</c> and bytes below 0x20; bytes that are not valid
/// UTF-8 are written raw too (the line is then not valid UTF-8). Unescaping the raw string token therefore
/// recovers the exact bytes, which a UTF-16 decode of the line would not.
/// </summary>
internal static class KcatJson
{
    private static readonly JsonReaderOptions _options = new() { MaxDepth = 8 };

    /// <summary>Parses one output line (one message).</summary>
    /// <exception cref="FormatException">The line is not a kcat JSON envelope.</exception>
    public static KafkaRecord ParseRecord(ReadOnlySpan<byte> line, DateTimeOffset receivedAt)
    {
        try
        {
            return Parse(line, receivedAt);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new FormatException($"Unexpected kcat output line: {Encoding.UTF8.GetString(line)}", ex);
        }
    }

    private static KafkaRecord Parse(ReadOnlySpan<byte> line, DateTimeOffset receivedAt)
    {
        var reader = new Utf8JsonReader(line, _options);
        Expect(ref reader, JsonTokenType.StartObject);

        string? topic = null;
        int partition = -1;
        long offset = -1;
        long? timestamp = null;
        byte[]? key = null;
        byte[]? payload = null;
        var headers = new List<KeyValuePair<string, string?>>();

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "topic":
                    topic = reader.GetString();
                    break;
                case "partition":
                    partition = reader.GetInt32();
                    break;
                case "offset":
                    offset = reader.GetInt64();
                    break;
                case "ts":
                    timestamp = reader.GetInt64();
                    break;
                case "key":
                    key = ReadBytes(ref reader);
                    break;
                case "payload":
                    payload = ReadBytes(ref reader);
                    break;
                case "headers":
                    ReadHeaders(ref reader, headers);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (topic is null || partition < 0 || offset < 0)
        {
            throw new InvalidOperationException("topic, partition or offset missing");
        }

        return new KafkaRecord(
            topic,
            partition,
            offset,
            timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UnixEpoch,
            Decode(key),
            Decode(payload),
            headers,
            receivedAt)
        {
            KeyBytes = key,
            PayloadBytes = payload,
        };
    }

    /// <summary>kcat writes headers as a flat array: name, value, name, value, ... (a value may be null).</summary>
    private static void ReadHeaders(ref Utf8JsonReader reader, List<KeyValuePair<string, string?>> headers)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new InvalidOperationException("headers is not an array");
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var name = Decode(ReadBytes(ref reader)) ?? "";
            reader.Read();
            headers.Add(new KeyValuePair<string, string?>(name, Decode(ReadBytes(ref reader))));
        }
    }

    private static byte[]? ReadBytes(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidOperationException($"expected a string, got {reader.TokenType}");
        }

        return reader.ValueIsEscaped ? Unescape(reader.ValueSpan) : reader.ValueSpan.ToArray();
    }

    /// <summary>
    /// JSON string unescaping straight to bytes. Utf8JsonReader.CopyString cannot be used: it rejects the raw
    /// non-UTF-8 bytes kcat writes for binary data, which must come through unchanged.
    /// </summary>
    private static byte[] Unescape(ReadOnlySpan<byte> escaped)
    {
        // Every escape is at least as long as what it stands for, so the output never outgrows the input.
        var output = new byte[escaped.Length];
        var length = 0;
        for (var i = 0; i < escaped.Length; i++)
        {
            var current = escaped[i];
            if (current != (byte)'\\')
            {
                output[length++] = current;
                continue;
            }

            var kind = escaped[++i];
            switch (kind)
            {
                case (byte)'b': output[length++] = (byte)'\b'; break;
                case (byte)'f': output[length++] = (byte)'\f'; break;
                case (byte)'n': output[length++] = (byte)'\n'; break;
                case (byte)'r': output[length++] = (byte)'\r'; break;
                case (byte)'t': output[length++] = (byte)'\t'; break;
                case (byte)'u':
                    var unit = ParseHex4(escaped.Slice(i + 1, 4));
                    i += 4;
                    int scalar = unit;
                    if (char.IsHighSurrogate((char)unit) && i + 6 < escaped.Length && escaped[i + 1] == (byte)'\\' && escaped[i + 2] == (byte)'u')
                    {
                        var low = ParseHex4(escaped.Slice(i + 3, 4));
                        if (char.IsLowSurrogate((char)low))
                        {
                            scalar = char.ConvertToUtf32((char)unit, (char)low);
                            i += 6;
                        }
                    }

                    // kcat only emits \u00XX for bytes below 0x20, which land here as that single byte.
                    var rune = Rune.IsValid(scalar) ? new Rune(scalar) : Rune.ReplacementChar;
                    length += rune.EncodeToUtf8(output.AsSpan(length));
                    break;
                default:
                    // \" \\ \/
                    output[length++] = kind;
                    break;
            }
        }

        return output[..length];
    }

    private static int ParseHex4(ReadOnlySpan<byte> hex) =>
        int.Parse(hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);

    private static string? Decode(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new InvalidOperationException($"expected {type}");
        }
    }
}
