using System.Diagnostics;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Smoke check of the sandbox on this machine: a temporary PostgreSQL, a 3-broker mock Kafka cluster and
/// kcat reaching it. Produces nothing; everything is stopped before it returns.
/// </summary>
public static class SelfTest
{
    /// <summary>Runs the check, printing progress to stdout.</summary>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>Process exit code: 0 on success.</returns>
    public static async Task<int> RunAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        await using (var postgres = await TemporaryPostgres.StartAsync(cancellationToken: cancellationToken))
        {
            Console.WriteLine($"postgres: started on 127.0.0.1:{postgres.Port} in {clock.ElapsedMilliseconds} ms ({postgres.DataDirectory})");
            Console.WriteLine($"postgres: {await postgres.ScalarAsync<string>("SELECT version()", cancellationToken)}");
            var publications = await postgres.ScalarAsync<long>(
                "SELECT count(*) FROM pg_publication WHERE pubname = 'atlas_cdc_outbox'", cancellationToken);
            Console.WriteLine($"postgres: sql/ applied (publication atlas_cdc_outbox present: {publications == 1})");

            using var kafka = MockKafkaCluster.Start(brokers: 3);
            Console.WriteLine($"kafka: mock cluster with {kafka.BrokerCount} brokers at {kafka.BootstrapServers}");
            var topics = await KafkaTopicReader.ListTopicsAsync(kafka.BootstrapServers, cancellationToken);
            Console.WriteLine($"kafka: kcat reached the cluster ({topics.Count} topics)");
        }

        Console.WriteLine($"selftest: ok, everything stopped ({clock.ElapsedMilliseconds} ms)");
        return 0;
    }
}
