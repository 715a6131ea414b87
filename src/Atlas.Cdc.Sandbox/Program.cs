using System.Globalization;
using Atlas.Cdc.Sandbox;

// The embedded default (README's first command) and a smoke check of the sandbox itself.
// --format avro: Avro values through the schema registry stand-in (README, "Schemas").
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
    ["--duration", var seconds] => await Demo.RunAsync(TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)), HttpUrl(), avro),
    ["selftest"] => await SelfTest.RunAsync(),
    _ => Usage(),
};

static string HttpUrl() => Environment.GetEnvironmentVariable("Cdc__Http__Url") ?? "http://127.0.0.1:8080";

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run --project src/Atlas.Cdc.Sandbox [-- [--duration SECONDS] [--format avro] | -- selftest]");
    return 2;
}
