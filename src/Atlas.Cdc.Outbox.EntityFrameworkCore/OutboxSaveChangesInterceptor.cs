using Atlas.Cdc.Outbox.Writing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Atlas.Cdc.Outbox.EntityFrameworkCore;

/// <summary>
/// Writes a DbContext's pending outbox events during SaveChanges, in the transaction that saves its entities.
/// Stateless: what it needs per context lives in that context's <see cref="OutboxEventBuffer"/>.
/// </summary>
/// <remarks>
/// Without a transaction of the caller's, it begins one before EF saves (EF then uses it), writes the events first
/// (a failure leaves the entities unsaved), and commits after EF has saved; if saving fails it rolls back, and
/// the events stay pending for the next SaveChanges, like EF's own changes. In the caller's transaction the events
/// are written after EF's commands succeeded: EF rolls a failed SaveChanges back to its savepoint, and events
/// written before that savepoint would survive it and be written twice by a retry.
/// </remarks>
internal sealed class OutboxSaveChangesInterceptor : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        BeforeSaveAsync(async: false, eventData.Context, CancellationToken.None).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await BeforeSaveAsync(async: true, eventData.Context, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        AfterSaveAsync(async: false, eventData.Context, CancellationToken.None).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<int> SavedChangesAsync(
        SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        await AfterSaveAsync(async: true, eventData.Context, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) =>
        AbandonAsync(async: false, eventData.Context).GetAwaiter().GetResult();

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default) =>
        AbandonAsync(async: true, eventData.Context);

    public override void SaveChangesCanceled(DbContextEventData eventData) =>
        AbandonAsync(async: false, eventData.Context).GetAwaiter().GetResult();

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default) =>
        AbandonAsync(async: true, eventData.Context);

    private static async Task BeforeSaveAsync(bool async, DbContext? context, CancellationToken cancellationToken)
    {
        if (context is null || BufferOf(context) is not { Pending.Count: > 0 } buffer || context.Database.CurrentTransaction is not null)
            return;

        buffer.OwnedTransaction = async
            ? await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false)
            : context.Database.BeginTransaction();
        try
        {
            await WriteAsync(async, context, buffer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await AbandonAsync(async, context).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task AfterSaveAsync(bool async, DbContext? context, CancellationToken cancellationToken)
    {
        if (context is null || BufferOf(context) is not { } buffer)
            return;

        if (buffer.OwnedTransaction is { } owned)
        {
            buffer.OwnedTransaction = null;
            await using (owned.ConfigureAwait(false))
            {
                if (async)
                    await owned.CommitAsync(cancellationToken).ConfigureAwait(false);
                else
                    owned.Commit();
            }
        }
        else if (buffer.Pending.Count > 0)
        {
            await WriteAsync(async, context, buffer, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            return;
        }

        foreach (var pending in buffer.Pending)
            pending.Result = pending.WrittenResult;
        buffer.Clear();
    }

    private static async Task AbandonAsync(bool async, DbContext? context)
    {
        if (context is null || BufferOf(context) is not { OwnedTransaction: { } owned } buffer)
            return;

        buffer.OwnedTransaction = null;
        foreach (var pending in buffer.Pending)
            pending.WrittenResult = null;
        await using (owned.ConfigureAwait(false))
        {
            if (async)
                await owned.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            else
                owned.Rollback();
        }
    }

    private static async Task WriteAsync(bool async, DbContext context, OutboxEventBuffer buffer, CancellationToken cancellationToken)
    {
        var connection = context.Database.GetDbConnection() as NpgsqlConnection
            ?? throw new InvalidOperationException(
                $"The outbox needs an Npgsql connection; {context.GetType().Name} uses {context.Database.GetDbConnection().GetType().Name}.");
        var transaction = context.Database.CurrentTransaction?.GetDbTransaction() as NpgsqlTransaction;
        var rows = buffer.Pending.Select(p => p.Row).ToList();
        var results = await OutboxCommandWriter.WriteBatchAsync(async, connection, transaction, rows, buffer.Options, cancellationToken)
            .ConfigureAwait(false);
        for (var i = 0; i < results.Count; i++)
            buffer.Pending[i].WrittenResult = results[i];
    }

    private static OutboxEventBuffer? BufferOf(DbContext context) =>
        context.GetInfrastructure().GetService(typeof(OutboxEventBuffer)) as OutboxEventBuffer;
}
