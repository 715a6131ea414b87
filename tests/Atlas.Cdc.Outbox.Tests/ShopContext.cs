using Microsoft.EntityFrameworkCore;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>An application's DbContext: one business entity on the test database's <c>orders</c> table.</summary>
public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
{
    public DbSet<ShopOrder> Orders => Set<ShopOrder>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<ShopOrder>(order =>
        {
            order.ToTable("orders", "public");
            order.Property(o => o.Id).HasColumnName("id");
            order.Property(o => o.Customer).HasColumnName("customer");
            order.Property(o => o.Total).HasColumnName("total");
        });
}

/// <summary>The business entity.</summary>
public sealed class ShopOrder
{
    public Guid Id { get; set; }

    public string Customer { get; set; } = "";

    public decimal Total { get; set; }
}
