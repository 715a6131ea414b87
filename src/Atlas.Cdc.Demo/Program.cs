using System.Globalization;
using Atlas.Cdc.Demo;

// README's first command: the relay on its embedded default, until Ctrl+C or for --duration SECONDS.
return args switch
{
    [] => await Demo.RunAsync(duration: null, HttpUrl()),
    ["--duration", var seconds] when double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var limit) && limit > 0 =>
        await Demo.RunAsync(TimeSpan.FromSeconds(limit), HttpUrl()),
    _ => Usage(),
};

static string HttpUrl() => Environment.GetEnvironmentVariable("Cdc__Http__Url") ?? "http://127.0.0.1:8080";

static int Usage()
{
    Console.Error.WriteLine("usage: bash scripts/demo.sh [--duration SECONDS]");
    return 2;
}
