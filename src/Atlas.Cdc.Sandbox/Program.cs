using System.Globalization;
using Atlas.Cdc.Sandbox;

// The embedded default (README's first command) and a smoke check of the sandbox itself.
return args switch
{
    [] => await Demo.RunAsync(duration: null, HttpUrl()),
    ["--duration", var seconds] => await Demo.RunAsync(TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)), HttpUrl()),
    ["selftest"] => await SelfTest.RunAsync(),
    _ => Usage(),
};

static string HttpUrl() => Environment.GetEnvironmentVariable("Cdc__Http__Url") ?? "http://127.0.0.1:8080";

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run --project src/Atlas.Cdc.Sandbox [-- --duration SECONDS | -- selftest]");
    return 2;
}
