using Atlas.Cdc.Hosting;

return await RelayHost.RunAsync(args);
