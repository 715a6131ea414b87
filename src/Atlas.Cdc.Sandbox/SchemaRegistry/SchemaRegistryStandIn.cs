using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Atlas.Cdc.Sandbox.SchemaRegistry;

/// <summary>
/// A STAND-IN for Confluent Schema Registry, for tests, the demo and the benchmark: no registry server can be
/// installed on these machines (Confluent's and Karapace need Maven Central or PyPI). It speaks the part of the REST
/// API v1 that Confluent's clients call, on Kestrel at 127.0.0.1 on a free port, keeps everything in memory, and
/// checks no compatibility. <see cref="Failure"/> makes it answer 503 or drop connections, for outage tests.
/// </summary>
/// <remarks>
/// Endpoints: <c>GET /subjects</c>, <c>GET /subjects/{s}/versions</c>, <c>POST /subjects/{s}/versions</c> (register),
/// <c>POST /subjects/{s}</c> (look up a schema), <c>GET /subjects/{s}/versions/{v|latest}</c>,
/// <c>GET /schemas/ids/{id}</c>, <c>GET /schemas/ids/{id}/versions</c>, <c>GET|PUT /config[/{s}]</c>. Errors use the
/// registry's body, <c>{"error_code": 40401, "message": "..."}</c>: 40401 subject, 40402 version, 40403 schema not
/// found, 42201 invalid schema.
/// </remarks>
public sealed class SchemaRegistryStandIn : IAsyncDisposable
{
    private const string ContentType = "application/vnd.schemaregistry.v1+json";

    private WebApplication _app = null!;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<RegisteredSchemaVersion>> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Type, string Canonical), int> _ids = [];
    private readonly Dictionary<int, (string Schema, string Type)> _schemas = [];
    private volatile RegistryFailure _failure;
    private long _requests;

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>How the stand-in answers from now on; <see cref="RegistryFailure.None"/> by default.</summary>
    public RegistryFailure Failure
    {
        get => _failure;
        set => _failure = value;
    }

    /// <summary>Requests received (failed ones included).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Starts the stand-in on a free port (or <paramref name="port"/>).</summary>
    /// <param name="port">0 for a free port.</param>
    /// <returns>The running stand-in; dispose it to stop.</returns>
    public static async Task<SchemaRegistryStandIn> StartAsync(int port = 0)
    {
        var standIn = new SchemaRegistryStandIn();
        (standIn._app, standIn.Url) = await LocalWebApp.StartAsync(port, standIn.Map);
        return standIn;
    }

    /// <summary>Registers a schema directly (what <c>POST /subjects/{subject}/versions</c> does).</summary>
    /// <param name="subject">Subject name.</param>
    /// <param name="schema">Schema text.</param>
    /// <param name="schemaType"><c>AVRO</c> or <c>JSON</c>.</param>
    /// <returns>The version: the existing one when the subject already has this schema.</returns>
    public RegisteredSchemaVersion Register(string subject, string schema, string schemaType = "AVRO")
    {
        var canonical = Canonical(schema);
        lock (_lock)
        {
            if (!_ids.TryGetValue((schemaType, canonical), out var id))
            {
                id = _schemas.Count + 1;
                _ids[(schemaType, canonical)] = id;
                _schemas[id] = (schema, schemaType);
            }
            if (!_subjects.TryGetValue(subject, out var versions))
                _subjects[subject] = versions = [];
            if (versions.FirstOrDefault(v => v.Id == id) is { } existing)
                return existing;
            var version = new RegisteredSchemaVersion(subject, versions.Count + 1, id, schema, schemaType);
            versions.Add(version);
            return version;
        }
    }

    /// <summary>The latest version of a subject, or null.</summary>
    /// <param name="subject">Subject name.</param>
    /// <returns>The version, or null when the subject has none.</returns>
    public RegisteredSchemaVersion? Latest(string subject)
    {
        lock (_lock)
            return _subjects.TryGetValue(subject, out var versions) ? versions[^1] : null;
    }

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            Interlocked.Increment(ref _requests);
            switch (_failure)
            {
                case RegistryFailure.Unreachable:
                    context.Abort();
                    return;
                case RegistryFailure.ServerError:
                    await Error(context, StatusCodes.Status503ServiceUnavailable, 50301, "Service unavailable (stand-in failure switch)");
                    return;
                default:
                    await next(context);
                    return;
            }
        });
        app.MapGet("/", () => Json(new JsonObject()));
        app.MapGet("/subjects", () =>
        {
            lock (_lock)
                return Json(new JsonArray([.. _subjects.Keys.Order(StringComparer.Ordinal).Select(s => JsonValue.Create(s))]));
        });
        app.MapGet("/subjects/{subject}/versions", (string subject) =>
        {
            lock (_lock)
            {
                return _subjects.TryGetValue(subject, out var versions)
                    ? Json(new JsonArray([.. versions.Select(v => JsonValue.Create(v.Version))]))
                    : SubjectNotFound(subject);
            }
        });
        app.MapPost("/subjects/{subject}/versions", async (string subject, HttpRequest request) =>
        {
            var (schema, type, error) = await ReadSchemaAsync(request);
            if (error is not null)
                return error;
            var version = Register(subject, schema!, type!);
            return Json(new JsonObject { ["id"] = version.Id });
        });
        app.MapPost("/subjects/{subject}", async (string subject, HttpRequest request) =>
        {
            var (schema, type, error) = await ReadSchemaAsync(request);
            if (error is not null)
                return error;
            var canonical = Canonical(schema!);
            lock (_lock)
            {
                if (!_subjects.TryGetValue(subject, out var versions))
                    return SubjectNotFound(subject);
                var found = versions.FirstOrDefault(v => v.SchemaType == type && Canonical(v.Schema) == canonical);
                return found is null ? ErrorResult(404, 40403, "Schema not found") : Json(Describe(found));
            }
        });
        app.MapGet("/subjects/{subject}/versions/{version}", (string subject, string version) =>
        {
            lock (_lock)
            {
                if (!_subjects.TryGetValue(subject, out var versions))
                    return SubjectNotFound(subject);
                RegisteredSchemaVersion? found = version is "latest" or "-1"
                    ? versions[^1]
                    : int.TryParse(version, out var number) ? versions.FirstOrDefault(v => v.Version == number) : null;
                return found is null ? ErrorResult(404, 40402, $"Version {version} not found.") : Json(Describe(found));
            }
        });
        app.MapGet("/schemas/ids/{id:int}", (int id) =>
        {
            lock (_lock)
            {
                if (!_schemas.TryGetValue(id, out var schema))
                    return ErrorResult(404, 40403, "Schema not found");
                var body = new JsonObject { ["schema"] = schema.Schema };
                if (schema.Type != "AVRO")
                    body["schemaType"] = schema.Type;
                return Json(body);
            }
        });
        app.MapGet("/schemas/ids/{id:int}/versions", (int id) =>
        {
            lock (_lock)
            {
                return Json(new JsonArray([.. _subjects.Values.SelectMany(v => v).Where(v => v.Id == id)
                    .Select(v => (JsonNode)new JsonObject { ["subject"] = v.Subject, ["version"] = v.Version })]));
            }
        });
        app.MapGet("/config", () => Json(new JsonObject { ["compatibilityLevel"] = "NONE" }));
        app.MapGet("/config/{subject}", (string subject) => Json(new JsonObject { ["compatibilityLevel"] = "NONE" }));
        app.MapPut("/config", () => Json(new JsonObject { ["compatibility"] = "NONE" }));
        app.MapPut("/config/{subject}", (string subject) => Json(new JsonObject { ["compatibility"] = "NONE" }));
    }

    private static JsonObject Describe(RegisteredSchemaVersion version)
    {
        var body = new JsonObject
        {
            ["subject"] = version.Subject,
            ["version"] = version.Version,
            ["id"] = version.Id,
            ["schema"] = version.Schema,
        };
        if (version.SchemaType != "AVRO")
            body["schemaType"] = version.SchemaType;
        return body;
    }

    private static async Task<(string? Schema, string? Type, IResult? Error)> ReadSchemaAsync(HttpRequest request)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body);
        }
        catch (JsonException e)
        {
            return (null, null, ErrorResult(422, 42201, $"Invalid request body: {e.Message}"));
        }
        var schema = body?["schema"]?.GetValue<string>();
        var type = body?["schemaType"]?.GetValue<string>() ?? "AVRO";
        if (schema is null)
            return (null, null, ErrorResult(422, 42201, "Empty schema"));
        if (type is not ("AVRO" or "JSON"))
            return (null, null, ErrorResult(422, 42201, $"The stand-in knows AVRO and JSON, not {type}"));
        try
        {
            if (type == "AVRO")
                Avro.Schema.Parse(schema);
            else
                JsonNode.Parse(schema);
        }
        catch (Exception e) when (e is Avro.AvroException or JsonException)
        {
            return (null, null, ErrorResult(422, 42201, $"Invalid schema: {e.Message}"));
        }
        return (schema, type, null);
    }

    /// <summary>The same schema with other whitespace or key order gets the same id, as in the real registry.</summary>
    private static string Canonical(string schema)
    {
        try
        {
            return Sorted(JsonNode.Parse(schema))?.ToJsonString() ?? "null";
        }
        catch (JsonException)
        {
            return schema;
        }
    }

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sorted)]),
        _ => node?.DeepClone(),
    };

    private static IResult SubjectNotFound(string subject) => ErrorResult(404, 40401, $"Subject '{subject}' not found.");

    private static IResult ErrorResult(int status, int code, string message) =>
        Results.Text(new JsonObject { ["error_code"] = code, ["message"] = message }.ToJsonString(), ContentType, statusCode: status);

    private static Task Error(HttpContext context, int status, int code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        return context.Response.WriteAsync(new JsonObject { ["error_code"] = code, ["message"] = message }.ToJsonString());
    }

    private static IResult Json(JsonNode body) => Results.Text(body.ToJsonString(), ContentType);

    /// <summary>Stops Kestrel.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
