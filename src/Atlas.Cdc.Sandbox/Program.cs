using Atlas.Cdc.Sandbox;

// A smoke check of the sandbox itself; the demo is its own project (src/Atlas.Cdc.Demo).
return args switch
{
    ["selftest"] => await SelfTest.RunAsync(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run --project src/Atlas.Cdc.Sandbox -- selftest");
    return 2;
}
