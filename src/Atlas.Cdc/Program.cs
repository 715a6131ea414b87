using Atlas.Cdc.CommandLine;
using Atlas.Cdc.Hosting;

Gen0Budget.ApplyByReexecuting(); // replaces the process unless the environment decided the GC's gen0 budget
_ = MallocTuning.Outcome; // before librdkafka allocates anything

return await RelayCommandLine.RunAsync(args);
