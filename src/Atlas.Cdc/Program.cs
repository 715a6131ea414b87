using Atlas.Cdc.CommandLine;

return await RelayCommandLine.RunAsync(args);
