using Atlas.Cdc.Outbox.Writing;
using Npgsql;

namespace Atlas.Cdc.Outbox;

/// <summary>
/// Adds outbox events on the connection and transaction you already hold. Every event is checked and serialized
/// before any SQL is sent: a rejected event throws <see cref="OutboxEventValidationException"/> and writes nothing.
/// The events commit or roll back with your transaction; the relay publishes them to Kafka after the commit.
/// </summary>
public static class NpgsqlOutboxExtensions
{
    /// <summary>Adds one event in <paramref name="transaction"/> (one INSERT, one round trip).</summary>
    /// <typeparam name="TEvent">The event's type, marked with <see cref="OutboxEventAttribute"/>.</typeparam>
    /// <param name="connection">An open connection.</param>
    /// <param name="outboxEvent">The event; an <see cref="OutboxEventEntry"/> is accepted too.</param>
    /// <param name="transaction">The business transaction, or null to commit the event on its own.</param>
    /// <param name="options">Table, serializer and trace settings; null for <see cref="OutboxWriteOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the INSERT.</param>
    /// <returns>The event's id and whether it was inserted or was a duplicate of its idempotency key.</returns>
    /// <exception cref="OutboxEventValidationException">The event was rejected; nothing was written.</exception>
    public static Task<OutboxWriteResult> AddOutboxEventAsync<TEvent>(
        this NpgsqlConnection connection,
        TEvent outboxEvent,
        NpgsqlTransaction? transaction = null,
        OutboxWriteOptions? options = null,
        CancellationToken cancellationToken = default)
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(outboxEvent);
        if (outboxEvent is OutboxEventEntry entry)
            return connection.AddOutboxEventAsync(entry, transaction, options, cancellationToken);
        options ??= OutboxWriteOptions.Default;
        var row = OutboxRowFactory.Create(outboxEvent, idempotencyKey: null, headers: null, options);
        return OutboxCommandWriter.WriteAsync(async: true, connection, transaction, row, options, cancellationToken);
    }

    /// <summary>Adds one event with a per-call idempotency key or extra headers.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="entry">The event, its idempotency key and extra headers.</param>
    /// <param name="transaction">The business transaction, or null to commit the event on its own.</param>
    /// <param name="options">Table, serializer and trace settings; null for <see cref="OutboxWriteOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the INSERT.</param>
    /// <returns>The event's id and whether it was inserted or was a duplicate of its idempotency key.</returns>
    /// <exception cref="OutboxEventValidationException">The event was rejected; nothing was written.</exception>
    public static Task<OutboxWriteResult> AddOutboxEventAsync(
        this NpgsqlConnection connection,
        OutboxEventEntry entry,
        NpgsqlTransaction? transaction = null,
        OutboxWriteOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(entry);
        options ??= OutboxWriteOptions.Default;
        var row = OutboxRowFactory.Create(entry.Event, entry.IdempotencyKey, entry.Headers, options);
        return OutboxCommandWriter.WriteAsync(async: true, connection, transaction, row, options, cancellationToken);
    }

    /// <summary>
    /// Adds several events in one round trip (one batch of INSERTs), in the given order. All are checked first: if
    /// one is rejected, none is written. Without a transaction the batch still commits whole or not at all.
    /// </summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="outboxEvents">Events, or <see cref="OutboxEventEntry"/> objects, in any mix of types.</param>
    /// <param name="transaction">The business transaction, or null to commit the events on their own.</param>
    /// <param name="options">Table, serializer and trace settings; null for <see cref="OutboxWriteOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the batch.</param>
    /// <returns>One result per event, in the same order.</returns>
    /// <exception cref="OutboxEventValidationException">An event was rejected; nothing was written.</exception>
    public static Task<IReadOnlyList<OutboxWriteResult>> AddOutboxEventsAsync(
        this NpgsqlConnection connection,
        IEnumerable<object> outboxEvents,
        NpgsqlTransaction? transaction = null,
        OutboxWriteOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(outboxEvents);
        options ??= OutboxWriteOptions.Default;
        var rows = CreateRows(outboxEvents, options);
        return OutboxCommandWriter.WriteBatchAsync(async: true, connection, transaction, rows, options, cancellationToken);
    }

    /// <summary>Adds one event in this transaction, on its connection.</summary>
    /// <typeparam name="TEvent">The event's type, marked with <see cref="OutboxEventAttribute"/>.</typeparam>
    /// <param name="transaction">The business transaction.</param>
    /// <param name="outboxEvent">The event; an <see cref="OutboxEventEntry"/> is accepted too.</param>
    /// <param name="options">Table, serializer and trace settings; null for <see cref="OutboxWriteOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the INSERT.</param>
    /// <returns>The event's id and whether it was inserted or was a duplicate of its idempotency key.</returns>
    /// <exception cref="OutboxEventValidationException">The event was rejected; nothing was written.</exception>
    public static Task<OutboxWriteResult> AddOutboxEventAsync<TEvent>(
        this NpgsqlTransaction transaction,
        TEvent outboxEvent,
        OutboxWriteOptions? options = null,
        CancellationToken cancellationToken = default)
        where TEvent : notnull =>
        ConnectionOf(transaction).AddOutboxEventAsync(outboxEvent, transaction, options, cancellationToken);

    /// <summary>Adds several events in this transaction in one round trip; see <see cref="AddOutboxEventsAsync(NpgsqlConnection, IEnumerable{object}, NpgsqlTransaction?, OutboxWriteOptions?, CancellationToken)"/>.</summary>
    /// <param name="transaction">The business transaction.</param>
    /// <param name="outboxEvents">Events, or <see cref="OutboxEventEntry"/> objects, in any mix of types.</param>
    /// <param name="options">Table, serializer and trace settings; null for <see cref="OutboxWriteOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the batch.</param>
    /// <returns>One result per event, in the same order.</returns>
    /// <exception cref="OutboxEventValidationException">An event was rejected; nothing was written.</exception>
    public static Task<IReadOnlyList<OutboxWriteResult>> AddOutboxEventsAsync(
        this NpgsqlTransaction transaction,
        IEnumerable<object> outboxEvents,
        OutboxWriteOptions? options = null,
        CancellationToken cancellationToken = default) =>
        ConnectionOf(transaction).AddOutboxEventsAsync(outboxEvents, transaction, options, cancellationToken);

    internal static List<OutboxRow> CreateRows(IEnumerable<object> outboxEvents, OutboxWriteOptions options)
    {
        var rows = new List<OutboxRow>();
        foreach (var item in outboxEvents)
        {
            rows.Add(item switch
            {
                null => throw new ArgumentException($"Event {rows.Count} of the batch is null.", nameof(outboxEvents)),
                OutboxEventEntry entry => OutboxRowFactory.Create(entry.Event, entry.IdempotencyKey, entry.Headers, options),
                _ => OutboxRowFactory.Create(item, idempotencyKey: null, headers: null, options),
            });
        }
        return rows;
    }

    private static NpgsqlConnection ConnectionOf(NpgsqlTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return transaction.Connection
            ?? throw new InvalidOperationException("The transaction has already been committed or rolled back; the outbox event would not be part of it.");
    }
}
