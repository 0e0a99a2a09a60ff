import IPCToolSupport

/// The faults of a run, drawn from the seed: which parties are killed at
/// which point of progress, and how many signals are sent. The seed replays
/// the plan; the interleaving of the processes is the kernel's.
struct StressPlan {
  var kills: Int
  var signals: Int

  /// One SIGKILL: to producer or consumer `index` once `threshold` messages were sent.
  struct Kill {
    var threshold: Int
    var producer: Bool
    var index: Int
  }

  /// The kills, in the order of their points (between 5% and 90% of the messages).
  func kills(total: Int, producers: Int, consumers: Int, _ random: inout SplitMix64) -> [Kill] {
    (0..<kills).map { _ in
      let producer = random.below(2) == 0
      return Kill(
        threshold: total / 20 + random.below(max(1, total * 17 / 20)), producer: producer,
        index: random.below(producer ? producers : consumers))
    }.sorted { $0.threshold < $1.threshold }
  }
}
