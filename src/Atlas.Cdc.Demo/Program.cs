using System.Globalization;
using Atlas.Cdc.Demo;

// README's first command: the relay on its embedded default, until Ctrl+C or for --duration SECONDS.
// --format avro: Avro values through the schema registry stand-in (docs/consuming.md, "Schemas").
var formatAt = Array.IndexOf(args, "--format");
var format = formatAt >= 0 && formatAt + 1 < args.Length ? args[formatAt + 1].ToLowerInvariant() : "json";
if (formatAt >= 0)
    args = [.. args[..formatAt], .. args[Math.Min(formatAt + 2, args.Length)..]];
if (format is not ("json" or "avro"))
    return Usage();
var avro = format == "avro";
return args switch
{
    [] => await Demo.RunAsync(duration: null, HttpUrl(), avro),
    ["--duration", var seconds] when double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var limit) && limit > 0 =>
        await Demo.RunAsync(TimeSpan.FromSeconds(limit), HttpUrl(), avro),
    _ => Usage(),
};

static string HttpUrl() => Environment.GetEnvironmentVariable("Cdc__Http__Url") ?? "http://127.0.0.1:8080";

static int Usage()
{
    Console.Error.WriteLine("usage: bash scripts/demo.sh [--duration SECONDS] [--format json|avro]");
    return 2;
}
