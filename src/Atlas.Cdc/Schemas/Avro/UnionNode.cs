using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// union: JSON null picks the null branch; any other value the branch that accepts its JSON kind. When several
/// do (e.g. int and string never clash, but int and long, or two records, can), they are tried in schema order and
/// the first that takes the value wins. Avro's own JSON form, <c>{"long": 5}</c> or <c>{"com.acme.Item": {...}}</c>,
/// picks a branch by name when the union has more than one branch besides null.
/// </summary>
internal sealed class UnionNode : AvroNode
{
    private readonly AvroNode[] _branches;
    private readonly string[] _branchNames;
    private readonly int _nullIndex;
    private readonly int[][] _byKind;
    private readonly bool _wrapped;

    public UnionNode(IReadOnlyList<(AvroNode Node, string Name, string? ShortName)> branches)
    {
        _branches = [.. branches.Select(b => b.Node)];
        _branchNames = [.. branches.Select(b => b.Name)];
        _nullIndex = Array.FindIndex(_branches, b => b is NullNode);
        var kinds = Enum.GetValues<JsonValueKind>();
        _byKind = new int[kinds.Max(k => (int)k) + 1][];
        foreach (var kind in kinds)
            _byKind[(int)kind] = [.. Enumerable.Range(0, _branches.Length).Where(i => _branches[i].Accepts(kind))];
        _wrapped = _branches.Count(b => b is not NullNode) > 1;
        _shortNames = [.. branches.Select(b => b.ShortName)];
    }

    private readonly string?[] _shortNames;

    public override string TypeName => $"one of [{string.Join(", ", _branches.Select(b => b.TypeName))}]";

    public override bool AcceptsNull => _nullIndex >= 0;

    public override void WriteNull(AvroBinaryWriter writer) => writer.WriteLong(_nullIndex);

    public override bool Accepts(JsonValueKind kind) => _byKind[(int)kind].Length > 0;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (_wrapped && value.ValueKind == JsonValueKind.Object && TryWriteWrapped(value, writer))
            return;
        var candidates = _byKind[(int)value.ValueKind];
        if (candidates.Length == 0)
            throw AvroConversionException.Expected(TypeName, value);
        if (candidates.Length == 1)
        {
            writer.WriteLong(candidates[0]);
            _branches[candidates[0]].Write(value, writer);
            return;
        }
        var start = writer.Position;
        foreach (var index in candidates)
        {
            try
            {
                writer.WriteLong(index);
                _branches[index].Write(value, writer);
                return;
            }
            catch (AvroConversionException)
            {
                writer.Position = start;
            }
        }
        throw AvroConversionException.Expected(TypeName, value);
    }

    /// <summary>Avro's JSON encoding of a union value: an object with one property named after the branch.</summary>
    private bool TryWriteWrapped(JsonElement value, AvroBinaryWriter writer)
    {
        using var properties = value.EnumerateObject();
        if (!properties.MoveNext())
            return false;
        var property = properties.Current;
        if (properties.MoveNext())
            return false;
        for (var i = 0; i < _branches.Length; i++)
        {
            if (property.NameEquals(_branchNames[i]) || (_shortNames[i] is { } shortName && property.NameEquals(shortName)))
            {
                writer.WriteLong(i);
                try
                {
                    _branches[i].Write(property.Value, writer);
                }
                catch (AvroConversionException e)
                {
                    throw e.InField(property.Name);
                }
                return true;
            }
        }
        return false;
    }

    /// <summary>A union's default is a value of its first branch.</summary>
    public override void WriteDefault(JsonElement value, AvroBinaryWriter writer)
    {
        writer.WriteLong(0);
        _branches[0].WriteDefault(value, writer);
    }
}
