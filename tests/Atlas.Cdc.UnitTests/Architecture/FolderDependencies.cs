using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Atlas.Cdc.UnitTests.Architecture;

/// <summary>
/// Which namespaces of an assembly use which, read from its compiled IL: signatures, fields, base types, attributes
/// and every type, method and field a method body names. Compiler-made types (lambdas, async state machines) count
/// for the type that declares them, so nothing a source file uses is missed.
/// </summary>
internal static class FolderDependencies
{
    /// <summary>For each namespace of <paramref name="assemblyPath"/> under <paramref name="root"/>, the others it uses, with one example each.</summary>
    public static Dictionary<string, Dictionary<string, string>> Read(string assemblyPath, string root)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath);
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in assembly.MainModule.GetTypes())
        {
            var from = NamespaceOf(type);
            if (!from.StartsWith(root, StringComparison.Ordinal))
                continue;
            var uses = graph.TryGetValue(from, out var existing) ? existing : graph[from] = new(StringComparer.Ordinal);
            foreach (var (used, via) in Referenced(type))
            {
                if (used.Resolve() is not { } definition || definition.Module != assembly.MainModule)
                    continue;
                var to = NamespaceOf(definition);
                if (to != from && to.StartsWith(root, StringComparison.Ordinal))
                    uses.TryAdd(to, $"{Outermost(type).FullName} uses {Outermost(definition).FullName} ({via})");
            }
        }
        return graph;
    }

    /// <summary>A circle of namespaces using each other, as "A -> B -> A" with the reason for each step, or null.</summary>
    public static string? FindCycle(Dictionary<string, Dictionary<string, string>> graph)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the path, 2 done
        var path = new List<string>();
        foreach (var start in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (Visit(start) is { } cycle)
                return cycle;
        }
        return null;

        string? Visit(string node)
        {
            if (state.GetValueOrDefault(node) == 2)
                return null;
            if (state.GetValueOrDefault(node) == 1)
            {
                var loop = path.Skip(path.IndexOf(node)).Append(node).ToList();
                var steps = loop.Zip(loop.Skip(1), (a, b) => $"  {a} -> {b}: {graph[a][b]}");
                return string.Join(" -> ", loop) + "\n" + string.Join("\n", steps);
            }
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node)?.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>())
            {
                if (Visit(next) is { } cycle)
                    return cycle;
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
    }

    private static TypeDefinition Outermost(TypeDefinition type) => type.DeclaringType is { } outer ? Outermost(outer) : type;

    private static string NamespaceOf(TypeDefinition type) => Outermost(type).Namespace;

    private static IEnumerable<(TypeReference Type, string Via)> Referenced(TypeDefinition type)
    {
        if (type.BaseType is { } baseType)
            foreach (var t in Expand(baseType)) yield return (t, "base type");
        foreach (var i in type.Interfaces)
            foreach (var t in Expand(i.InterfaceType)) yield return (t, "interface");
        foreach (var a in type.CustomAttributes)
            yield return (a.AttributeType, "attribute");
        foreach (var field in type.Fields)
            foreach (var t in Expand(field.FieldType)) yield return (t, $"field {field.Name}");
        foreach (var property in type.Properties)
            foreach (var t in Expand(property.PropertyType)) yield return (t, $"property {property.Name}");
        foreach (var method in type.Methods)
        {
            foreach (var t in Expand(method.ReturnType)) yield return (t, $"{method.Name} returns");
            foreach (var p in method.Parameters)
                foreach (var t in Expand(p.ParameterType)) yield return (t, $"{method.Name} parameter");
            if (!method.HasBody)
                continue;
            foreach (var v in method.Body.Variables)
                foreach (var t in Expand(v.VariableType)) yield return (t, $"{method.Name} local");
            foreach (var instruction in method.Body.Instructions)
            {
                foreach (var t in OperandTypes(instruction))
                    yield return (t, $"{method.Name} body");
            }
        }
    }

    private static IEnumerable<TypeReference> OperandTypes(Instruction instruction)
    {
        switch (instruction.Operand)
        {
            case TypeReference type:
                foreach (var t in Expand(type)) yield return t;
                break;
            case MethodReference method:
                foreach (var t in Expand(method.DeclaringType)) yield return t;
                foreach (var t in Expand(method.ReturnType)) yield return t;
                foreach (var p in method.Parameters)
                    foreach (var t in Expand(p.ParameterType)) yield return t;
                if (method is GenericInstanceMethod generic)
                    foreach (var argument in generic.GenericArguments)
                        foreach (var t in Expand(argument)) yield return t;
                break;
            case FieldReference field:
                foreach (var t in Expand(field.DeclaringType)) yield return t;
                foreach (var t in Expand(field.FieldType)) yield return t;
                break;
        }
    }

    /// <summary>The type and every type inside it: generic arguments, array and pointer elements.</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference type)
    {
        switch (type)
        {
            case GenericInstanceType generic:
                foreach (var t in Expand(generic.ElementType)) yield return t;
                foreach (var argument in generic.GenericArguments)
                    foreach (var t in Expand(argument)) yield return t;
                break;
            case TypeSpecification specification:
                foreach (var t in Expand(specification.ElementType)) yield return t;
                break;
            case GenericParameter:
                break;
            default:
                yield return type;
                break;
        }
    }
}
