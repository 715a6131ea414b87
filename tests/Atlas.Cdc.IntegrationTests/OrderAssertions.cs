using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Checks at-least-once delivery in commit order per key, allowing the duplicates a restart may send.</summary>
internal static class OrderAssertions
{
    /// <summary>
    /// For every key: the first appearance of each event, read in partition-offset order, follows the expected
    /// commit order exactly. Later copies (re-sent after a crash) are ignored; a missing event fails.
    /// </summary>
    public static void FirstDeliveriesFollowCommitOrder(IEnumerable<KafkaRecord> records, IReadOnlyDictionary<string, List<Guid>> expectedByKey)
    {
        var byKey = records.GroupBy(r => r.Key ?? "").ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (key, expected) in expectedByKey)
        {
            Assert.True(byKey.TryGetValue(key, out var delivered), $"no events for key '{key}'");
            Assert.Single(delivered.Select(r => (r.Topic, r.Partition)).Distinct());
            var firstSeen = new List<string>();
            var seen = new HashSet<string>();
            foreach (var record in delivered.OrderBy(r => r.Offset))
            {
                var id = record.Header("id")!;
                if (seen.Add(id))
                    firstSeen.Add(id);
            }
            var expectedText = expected.Select(id => id.ToString()).ToList();
            if (!firstSeen.SequenceEqual(expectedText))
            {
                var index = Enumerable.Range(0, Math.Min(firstSeen.Count, expectedText.Count))
                    .FirstOrDefault(i => firstSeen[i] != expectedText[i], Math.Min(firstSeen.Count, expectedText.Count));
                Assert.Fail($"key '{key}': delivery order differs from commit order at position {index} " +
                            $"(expected {expectedText.ElementAtOrDefault(index)}, got {firstSeen.ElementAtOrDefault(index)}; " +
                            $"{firstSeen.Count} delivered, {expectedText.Count} committed)");
            }
        }
    }

    public static int Duplicates(IEnumerable<KafkaRecord> records) =>
        records.GroupBy(r => r.Header("id")).Sum(g => g.Count() - 1);
}
