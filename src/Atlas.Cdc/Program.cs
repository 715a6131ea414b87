using Atlas.Cdc.CommandLine;
using Atlas.Cdc.Hosting;

_ = MallocTuning.Outcome; // before librdkafka allocates anything

return await RelayCommandLine.RunAsync(args);
