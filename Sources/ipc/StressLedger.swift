import IPC

/// Where a run's parties record what they did, in a private System V segment
/// the parent makes and reads (all offsets in bytes; Int64 unless noted):
///
///     0        reordered: messages a consumer got after a later one of the same producer
///     8        corrupted: messages whose checksum did not match
///     16       faults applied (IPC_STRESS_FAULT, debug builds only)
///     24       per producer: committed, the last sequence whose send returned
///     ...      per producer: attempting, the sequence being sent
///     ...      per producer: the pid of the process in that slot once its handlers are set
///     ...      per consumer: messages it received
///     ...      per consumer: the pid of the process in that slot once its handlers are set
///     ...      per producer, then per consumer: signals its processes' handlers caught
///     ...      per consumer × producer: the highest sequence that consumer slot got
///     counts   per producer × sequence, Int32: how many times it was received
///
/// A party writes only its own slot (and the shared counters, atomically), so
/// what a killed one wrote stays for its replacement and for the parent:
/// consumers hold nothing in memory that the verdict needs.
struct StressLedger {
  let producers: Int
  let consumers: Int
  let messages: Int

  static let reordered = 0
  static let corrupted = 8
  static let faults = 16
  private static let header = 24

  func committed(_ producer: Int) -> Int { Self.header + 8 * producer }
  func attempting(_ producer: Int) -> Int { Self.header + 8 * (producers + producer) }
  func producerReady(_ producer: Int) -> Int { Self.header + 8 * (2 * producers + producer) }
  func received(_ consumer: Int) -> Int { Self.header + 8 * (3 * producers + consumer) }
  func consumerReady(_ consumer: Int) -> Int { Self.header + 8 * (3 * producers + consumers + consumer) }
  func producerCaught(_ producer: Int) -> Int { Self.header + 8 * (3 * producers + 2 * consumers + producer) }
  func consumerCaught(_ consumer: Int) -> Int {
    Self.header + 8 * (4 * producers + 2 * consumers + consumer)
  }
  func last(consumer: Int, producer: Int) -> Int {
    Self.header + 8 * (4 * producers + 3 * consumers + consumer * producers + producer)
  }
  var counts: Int { Self.header + 8 * (4 * producers + 3 * consumers + consumers * producers) }
  /// The count of message `sequence` (from 1) of `producer` (from 0).
  func count(producer: Int, sequence: Int) -> Int { counts + 4 * (producer * messages + sequence - 1) }
  var size: Int { counts + 4 * producers * messages }

  /// Sum of the Int64 cells at `offsets`.
  func sum(_ offsets: [Int], in region: SharedRegion) throws(IPCError) -> Int {
    var total = 0
    for offset in offsets { total &+= Int(try region.atomicLoad(Int64.self, at: offset)) }
    return total
  }

  /// Messages whose send returned, over all producers.
  func sent(in region: SharedRegion) throws(IPCError) -> Int {
    try sum((0..<producers).map(committed), in: region)
  }

  /// Signals caught by the handlers of every party.
  func caught(in region: SharedRegion) throws(IPCError) -> Int {
    try sum((0..<producers).map(producerCaught) + (0..<consumers).map(consumerCaught), in: region)
  }

  /// Messages received, over all consumers.
  func received(in region: SharedRegion) throws(IPCError) -> Int {
    try sum((0..<consumers).map(received), in: region)
  }
}
