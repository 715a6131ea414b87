namespace Atlas.Cdc.Benchmarks;

/// <summary>Statements one role ran: how many, server time inside them, rows returned/affected, WAL they wrote, buffers touched.</summary>
internal sealed record StatementLoad(long Calls, double ExecMilliseconds, long Rows, long WalBytes, long BuffersTouched);
