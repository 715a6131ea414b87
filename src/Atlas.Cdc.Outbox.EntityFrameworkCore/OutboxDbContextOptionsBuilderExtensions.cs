using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Atlas.Cdc.Outbox.EntityFrameworkCore;

/// <summary>Turns on the outbox for a DbContext: <c>optionsBuilder.UseNpgsql(...).UseAtlasOutbox()</c>.</summary>
public static class OutboxDbContextOptionsBuilderExtensions
{
    /// <summary>
    /// Registers the outbox: events added with <see cref="OutboxDbContextExtensions.AddOutboxEvent{TEvent}(DbContext, TEvent)"/>
    /// are written by <c>SaveChanges</c>/<c>SaveChangesAsync</c> in the transaction that saves the entities (the
    /// current one if you began one, else one begun for that SaveChanges). Calling it again replaces the options.
    /// </summary>
    /// <param name="optionsBuilder">The context's options builder (with <c>UseNpgsql</c>).</param>
    /// <param name="options">Table, serializer and trace settings; null for <see cref="OutboxWriteOptions.Default"/>.</param>
    /// <returns>The same builder.</returns>
    public static DbContextOptionsBuilder UseAtlasOutbox(this DbContextOptionsBuilder optionsBuilder, OutboxWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        var alreadyOn = optionsBuilder.Options.FindExtension<OutboxOptionsExtension>() is not null;
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(
            new OutboxOptionsExtension(options ?? OutboxWriteOptions.Default));
        if (!alreadyOn)
            optionsBuilder.AddInterceptors(new OutboxSaveChangesInterceptor());
        return optionsBuilder;
    }

    /// <inheritdoc cref="UseAtlasOutbox(DbContextOptionsBuilder, OutboxWriteOptions?)"/>
    public static DbContextOptionsBuilder<TContext> UseAtlasOutbox<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder, OutboxWriteOptions? options = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)UseAtlasOutbox((DbContextOptionsBuilder)optionsBuilder, options);
}
