using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

// Logical types: the payload carries them as people write them in JSON (RFC 3339 strings, decimal numbers,
// uuid strings); a JSON integer is also taken as the underlying value (days, milliseconds, microseconds).

/// <summary>date: <c>"2026-11-22"</c> (or a day number), written as days since 1970-01-01.</summary>
internal sealed class DateNode : AvroNode
{
    private static readonly int s_epochDay = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    public override string TypeName => "date (yyyy-MM-dd)";

    public override bool Accepts(JsonValueKind kind) => kind is JsonValueKind.String or JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var days))
            writer.WriteInt(days);
        else if (value.ValueKind == JsonValueKind.String
                 && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            writer.WriteInt(date.DayNumber - s_epochDay);
        else
            throw AvroConversionException.Expected(TypeName, value);
    }
}

/// <summary>time-millis (int) and time-micros (long): <c>"13:45:30.250"</c>, or the count since midnight.</summary>
internal sealed class TimeNode(bool micros) : AvroNode
{
    public override string TypeName => micros ? "time-micros (HH:mm:ss.ffffff)" : "time-millis (HH:mm:ss.fff)";

    public override bool Accepts(JsonValueKind kind) => kind is JsonValueKind.String or JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        long units;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
            units = number;
        else if (value.ValueKind == JsonValueKind.String
                 && TimeOnly.TryParseExact(value.GetString(), ["HH:mm:ss", "HH:mm:ss.FFFFFFF"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            units = micros ? time.Ticks / 10 : time.Ticks / TimeSpan.TicksPerMillisecond;
        else
            throw AvroConversionException.Expected(TypeName, value);
        if (micros)
            writer.WriteLong(units);
        else if (units is >= 0 and <= int.MaxValue)
            writer.WriteInt((int)units);
        else
            throw new AvroConversionException($"number {AvroConversionException.Describe(value)} is out of range for {TypeName}");
    }
}

/// <summary>
/// timestamp-millis / timestamp-micros: an RFC 3339 string with an offset (<c>2026-11-22T05:03:00.123456Z</c>,
/// <c>...+01:00</c>), written as the instant since the Unix epoch (finer digits are cut, toward the past); or that
/// number itself. local-timestamp-*: the same without an offset, the wall-clock time as written.
/// </summary>
internal sealed class TimestampNode(bool micros, bool local) : AvroNode
{
    private static readonly string[] s_formats =
        ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK"];

    public override string TypeName => (local ? "local-" : "") + (micros ? "timestamp-micros" : "timestamp-millis") +
                                       (local ? " (yyyy-MM-ddTHH:mm:ss)" : " (RFC 3339)");

    public override bool Accepts(JsonValueKind kind) => kind is JsonValueKind.String or JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            writer.WriteLong(number);
            return;
        }
        if (value.ValueKind != JsonValueKind.String || !TryParse(value.GetString()!, out var ticksSinceEpoch))
            throw AvroConversionException.Expected(TypeName, value);
        var unit = micros ? 10 : TimeSpan.TicksPerMillisecond;
        writer.WriteLong(FloorDiv(ticksSinceEpoch, unit));
    }

    private bool TryParse(string text, out long ticksSinceEpoch)
    {
        ticksSinceEpoch = 0;
        var hasOffset = text.EndsWith('Z') || text.EndsWith('z') ||
                        (text.Length > 6 && (text[^6] is '+' or '-') && text[^3] == ':');
        if (hasOffset == local)
            return false;
        if (local)
        {
            if (!DateTime.TryParseExact(text, s_formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var wallClock))
                return false;
            ticksSinceEpoch = wallClock.Ticks - DateTime.UnixEpoch.Ticks;
            return true;
        }
        if (!DateTimeOffset.TryParseExact(text.Replace('z', 'Z'), s_formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
            return false;
        ticksSinceEpoch = instant.UtcTicks - DateTime.UnixEpoch.Ticks;
        return true;
    }

    private static long FloorDiv(long value, long unit) => value >= 0 || value % unit == 0 ? value / unit : value / unit - 1;
}

/// <summary>uuid: a UUID string, written in its canonical lower-case form.</summary>
internal sealed class UuidNode : AvroNode
{
    public override string TypeName => "uuid";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.String;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (value.ValueKind != JsonValueKind.String || !Guid.TryParse(value.GetString(), out var uuid))
            throw AvroConversionException.Expected(TypeName, value);
        Span<byte> text = stackalloc byte[36];
        uuid.TryFormat(text, out _, "D");
        writer.WriteBytes(text);
    }
}

/// <summary>
/// decimal (bytes or fixed): a JSON number or a numeric string (<c>12.50</c>, <c>"12.50"</c>), written as the
/// two's-complement big-endian unscaled integer. More decimal places than the scale (other than trailing zeros),
/// or more digits than the precision, are refused: nothing is rounded.
/// </summary>
internal sealed class DecimalNode(int precision, int scale, int? fixedSize) : AvroNode
{
    public override string TypeName => $"decimal({precision},{scale})";

    public override bool Accepts(JsonValueKind kind) => kind is JsonValueKind.String or JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.String => value.GetString()!,
            _ => throw AvroConversionException.Expected(TypeName, value),
        };
        if (!DecimalText.TryParse(text, out var digits, out var exponent))
            throw AvroConversionException.Expected(TypeName, value);
        // value = digits * 10^exponent; unscaled = value * 10^scale
        var shift = exponent + scale;
        BigInteger unscaled;
        if (shift >= 0)
        {
            unscaled = digits * BigInteger.Pow(10, shift);
        }
        else
        {
            unscaled = BigInteger.DivRem(digits, BigInteger.Pow(10, -shift), out var remainder);
            if (!remainder.IsZero)
                throw new AvroConversionException($"{AvroConversionException.Describe(value)} has more decimal places than {TypeName} keeps ({scale})");
        }
        if (BigInteger.Abs(unscaled).ToString(CultureInfo.InvariantCulture).Length > precision && !unscaled.IsZero)
            throw new AvroConversionException($"number {AvroConversionException.Describe(value)} is out of range for {TypeName}");
        var bytes = unscaled.ToByteArray(isUnsigned: false, isBigEndian: true);
        if (fixedSize is not { } size)
        {
            writer.WriteBytes(bytes);
            return;
        }
        if (bytes.Length > size)
            throw new AvroConversionException($"number {AvroConversionException.Describe(value)} is out of range for {TypeName} in {size} bytes");
        Span<byte> padded = stackalloc byte[size];
        padded.Fill(unscaled.Sign < 0 ? (byte)0xFF : (byte)0);
        bytes.CopyTo(padded[(size - bytes.Length)..]);
        writer.WriteFixed(padded);
    }
}

/// <summary>Parses decimal text (<c>-12.50</c>, <c>1.5e3</c>) into digits and a power of ten, exactly.</summary>
internal static class DecimalText
{
    public static bool TryParse(string text, out BigInteger digits, out int exponent)
    {
        digits = BigInteger.Zero;
        exponent = 0;
        var span = text.AsSpan().Trim();
        var e = span.IndexOfAny('e', 'E');
        if (e >= 0)
        {
            if (!int.TryParse(span[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent) || Math.Abs(exponent) > 1000)
                return false;
            span = span[..e];
        }
        var negative = span.StartsWith("-");
        if (negative || span.StartsWith("+"))
            span = span[1..];
        var dot = span.IndexOf('.');
        var integral = dot >= 0 ? span[..dot] : span;
        var fraction = dot >= 0 ? span[(dot + 1)..] : [];
        if (integral.Length + fraction.Length == 0 || integral.ContainsAnyExceptInRange('0', '9') || fraction.ContainsAnyExceptInRange('0', '9'))
            return false;
        digits = BigInteger.Parse(string.Concat(integral, fraction), NumberStyles.None, CultureInfo.InvariantCulture);
        if (negative)
            digits = -digits;
        exponent -= fraction.Length;
        return true;
    }
}
