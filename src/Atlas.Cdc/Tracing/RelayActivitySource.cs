using System.Diagnostics;

namespace Atlas.Cdc.Tracing;

/// <summary>The relay's one <see cref="ActivitySource"/>; the host subscribes the OpenTelemetry SDK to it by <see cref="Name"/>.</summary>
internal static class RelayActivitySource
{
    /// <summary>The source's name, also the instrumentation scope of every span the relay exports.</summary>
    public const string Name = "Atlas.Cdc";

    public static readonly ActivitySource Source = new(Name, typeof(RelayActivitySource).Assembly.GetName().Version?.ToString(3));
}
