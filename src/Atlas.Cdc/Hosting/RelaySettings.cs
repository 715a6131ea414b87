using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Postgres;
using Atlas.Cdc.Publishing;
using Atlas.Cdc.Schemas;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// The one way the relay and its commands read their settings: appsettings.json beside the program, then
/// <c>Cdc__*</c> environment variables, bound by <see cref="CdcOptionsBinder"/> and checked by the value rules of
/// <see cref="CdcOptionsValidator"/> and by each feature's own rules. Every error names its setting.
/// </summary>
public static class RelaySettings
{
    /// <summary>The configuration sources a command reads when it runs outside the relay's host.</summary>
    public static IConfiguration ReadConfiguration() =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();

    /// <summary>Binds and checks the settings; returns every error found (none: <paramref name="options"/> is usable).</summary>
    public static IReadOnlyList<string> Load(IConfiguration configuration, out CdcOptions options)
    {
        var errors = CdcOptionsBinder.Bind(configuration, out options).ToList();
        errors.AddRange(Validate(options));
        return errors;
    }

    /// <summary>The value rules, then the rules of the features the settings drive.</summary>
    public static IReadOnlyList<string> Validate(CdcOptions options)
    {
        var errors = new List<string>();
        if (PostgresConnectionStrings.Validate(options.Postgres.ConnectionString) is { } connectionError)
            errors.Add(connectionError);
        errors.AddRange(ProducerSettings.Validate(options.Kafka));
        errors.AddRange(OutboxDefinition.Validate(options, MessageHeaders.IsReserved));
        if (TopicNamer.ValidateTemplate(options.TopicTemplate) is { } templateError)
            errors.Add($"Cdc:TopicTemplate (env Cdc__TopicTemplate) {templateError}.");
        foreach (var (name, outbox) in options.Outboxes)
        {
            if (outbox.TopicTemplate.Length > 0 && TopicNamer.ValidateTemplate(outbox.TopicTemplate) is { } outboxTemplateError)
                errors.Add($"Cdc:Outboxes:{name}:TopicTemplate (env Cdc__Outboxes__{name}__TopicTemplate) {outboxTemplateError}.");
            if (outbox.DeadLetterTopic.Length > 0 && TopicNamer.Validate(outbox.DeadLetterTopic) is { } outboxDeadLetterError)
                errors.Add($"Cdc:Outboxes:{name}:DeadLetterTopic (env Cdc__Outboxes__{name}__DeadLetterTopic): {outboxDeadLetterError}.");
        }
        if (TopicNamer.Validate(options.DeadLetter.Topic) is { } deadLetterError)
            errors.Add($"Cdc:DeadLetter:Topic (env Cdc__DeadLetter__Topic): {deadLetterError}.");
        errors.AddRange(CdcOptionsValidator.Validate(options));
        errors.AddRange(SchemaOptionsValidator.Validate(options));
        if (!HttpListenAddress.TryParse(options.Http.Url, out _, out var httpError))
            errors.Add(httpError);
        return errors;
    }
}
