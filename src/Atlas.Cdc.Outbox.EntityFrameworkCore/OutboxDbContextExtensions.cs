using Atlas.Cdc.Outbox.Writing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Atlas.Cdc.Outbox.EntityFrameworkCore;

/// <summary>Adds outbox events to a DbContext; the next <c>SaveChanges</c> writes them with its entities.</summary>
public static class OutboxDbContextExtensions
{
    /// <summary>
    /// Checks and serializes the event now (a rejected event throws here and is not added) and keeps it with this
    /// context instance until <c>SaveChanges</c> writes it in the same transaction as the entities. The trace
    /// context is taken now, from the current activity.
    /// </summary>
    /// <typeparam name="TEvent">The event's type, marked with <see cref="OutboxEventAttribute"/>.</typeparam>
    /// <param name="context">A context configured with <see cref="OutboxDbContextOptionsBuilderExtensions.UseAtlasOutbox(DbContextOptionsBuilder, OutboxWriteOptions?)"/>.</param>
    /// <param name="outboxEvent">The event; an <see cref="OutboxEventEntry"/> is accepted too.</param>
    /// <returns>The pending event: its id now, its result after SaveChanges.</returns>
    /// <exception cref="OutboxEventValidationException">The event was rejected.</exception>
    /// <exception cref="InvalidOperationException">The context was not configured with UseAtlasOutbox().</exception>
    public static OutboxPendingEvent AddOutboxEvent<TEvent>(this DbContext context, TEvent outboxEvent)
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(outboxEvent);
        if (outboxEvent is OutboxEventEntry entry)
            return context.AddOutboxEvent(entry);
        var buffer = BufferOf(context);
        return buffer.Add(OutboxRowFactory.Create(outboxEvent, idempotencyKey: null, headers: null, buffer.Options));
    }

    /// <summary>Adds an event with a per-call idempotency key or extra headers; see <see cref="AddOutboxEvent{TEvent}(DbContext, TEvent)"/>.</summary>
    /// <param name="context">A context configured with UseAtlasOutbox().</param>
    /// <param name="entry">The event, its idempotency key and extra headers.</param>
    /// <returns>The pending event: its id now, its result after SaveChanges.</returns>
    /// <exception cref="OutboxEventValidationException">The event was rejected.</exception>
    /// <exception cref="InvalidOperationException">The context was not configured with UseAtlasOutbox().</exception>
    public static OutboxPendingEvent AddOutboxEvent(this DbContext context, OutboxEventEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var buffer = BufferOf(context);
        return buffer.Add(OutboxRowFactory.Create(entry.Event, entry.IdempotencyKey, entry.Headers, buffer.Options));
    }

    /// <summary>The events added to this context and not yet saved.</summary>
    /// <param name="context">A context configured with UseAtlasOutbox().</param>
    /// <returns>The pending events in the order they were added.</returns>
    public static IReadOnlyList<OutboxPendingEvent> PendingOutboxEvents(this DbContext context) => BufferOf(context).Pending;

    private static OutboxEventBuffer BufferOf(DbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetInfrastructure().GetService(typeof(OutboxEventBuffer)) as OutboxEventBuffer
            ?? throw new InvalidOperationException(
                $"{context.GetType().Name} has no outbox: call optionsBuilder.UseAtlasOutbox() where it is configured (OnConfiguring or AddDbContext).");
    }
}
