using Atlas.Cdc.Configuration;

namespace Atlas.Cdc.Events;

/// <summary>The outbox tables one relay reads through its one slot, found by name or by table.</summary>
internal sealed class OutboxCatalog
{
    private readonly Dictionary<(string Schema, string Name), OutboxDefinition> _byTable = new();

    public OutboxCatalog(IReadOnlyList<OutboxDefinition> outboxes)
    {
        All = outboxes;
        foreach (var outbox in outboxes)
            _byTable[(outbox.Table.Schema, outbox.Table.Name)] = outbox;
    }

    public IReadOnlyList<OutboxDefinition> All { get; }

    public static OutboxCatalog From(CdcOptions options) => new(OutboxDefinition.From(options));

    /// <summary>The outbox that reads this table, or null for another table of the publication.</summary>
    public OutboxDefinition? ForTable(string schema, string name) => _byTable.GetValueOrDefault((schema, name));

    public OutboxDefinition? ForName(string name) => All.FirstOrDefault(o => o.Name == name);

    /// <summary>The tables, for log lines.</summary>
    public override string ToString() => string.Join(", ", All.Select(o => o.ToString()));
}
