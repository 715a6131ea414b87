using Atlas.Cdc.Sandbox;

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
