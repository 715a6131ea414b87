using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Atlas.Cdc.Outbox.EntityFrameworkCore;

/// <summary>Carries <see cref="OutboxWriteOptions"/> in the DbContext options and adds the per-context event buffer.</summary>
internal sealed class OutboxOptionsExtension(OutboxWriteOptions writeOptions) : IDbContextOptionsExtension
{
    private DbContextOptionsExtensionInfo? _info;

    public OutboxWriteOptions WriteOptions { get; } = writeOptions;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    public void ApplyServices(IServiceCollection services)
    {
        services.AddScoped<OutboxEventBuffer>();
        services.AddScoped<IResettableService>(provider => provider.GetRequiredService<OutboxEventBuffer>());
    }

    public void Validate(IDbContextOptions options)
    {
    }

    private sealed class ExtensionInfo(IDbContextOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "AtlasOutbox ";

        // The services do not depend on the write options (read per context), so every context can share a provider.
        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo) =>
            debugInfo["AtlasOutbox"] = "1";
    }
}
