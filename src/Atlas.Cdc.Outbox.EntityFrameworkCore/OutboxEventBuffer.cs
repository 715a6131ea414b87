using Atlas.Cdc.Outbox.Writing;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Atlas.Cdc.Outbox.EntityFrameworkCore;

/// <summary>
/// The events added to one DbContext instance and not yet saved. A scoped service of the context's own service
/// provider, so each context (and each lease of a pooled one: <see cref="IResettableService"/>) has its own.
/// </summary>
internal sealed class OutboxEventBuffer(IDbContextOptions contextOptions) : IResettableService
{
    private readonly List<OutboxPendingEvent> _pending = [];

    public OutboxWriteOptions Options { get; } =
        contextOptions.FindExtension<OutboxOptionsExtension>()?.WriteOptions ?? OutboxWriteOptions.Default;

    public IReadOnlyList<OutboxPendingEvent> Pending => _pending;

    /// <summary>The transaction the interceptor began because SaveChanges had none; it commits or rolls it back.</summary>
    public IDbContextTransaction? OwnedTransaction { get; set; }

    public OutboxPendingEvent Add(OutboxRow row)
    {
        var pending = new OutboxPendingEvent(row);
        _pending.Add(pending);
        return pending;
    }

    public void Clear() => _pending.Clear();

    public void ResetState()
    {
        _pending.Clear();
        OwnedTransaction?.Dispose();
        OwnedTransaction = null;
    }

    public async Task ResetStateAsync(CancellationToken cancellationToken = default)
    {
        _pending.Clear();
        if (OwnedTransaction is { } transaction)
            await transaction.DisposeAsync().ConfigureAwait(false);
        OwnedTransaction = null;
    }
}
