using Atlas.Cdc.CommandLine;
using Atlas.Cdc.Hosting;

// Replaces the process once unless the environment already decided the GC's gen0 budget and glibc's malloc settings.
StartupEnvironment.CompleteByReexecuting([.. Gen0Budget.VariablesToAdd(), .. MallocTuning.VariablesToAdd()]);
_ = MallocTuning.Outcome; // before librdkafka allocates anything

return await RelayCommandLine.RunAsync(args);
