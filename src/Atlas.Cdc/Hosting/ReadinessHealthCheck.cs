using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// <c>/readyz</c>: healthy while <see cref="RelayStatus.IsReady"/> holds, unhealthy otherwise; the description is
/// its reason either way, which the endpoint answers with.
/// </summary>
internal sealed class ReadinessHealthCheck(RelayStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(status.IsReady(out var reason) ? HealthCheckResult.Healthy(reason) : HealthCheckResult.Unhealthy(reason));
}
