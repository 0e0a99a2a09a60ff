/// SplitMix64: the same numbers from the same seed, so a run (a torture
/// run's plan, a fuzz round) can be replayed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  /// The generator's whole state: the seed, advanced by each number.
  public var state: UInt64

  /// A generator that starts from `state`.
  public init(state: UInt64) { self.state = state }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number from 0 to `bound` - 1 (0 for a bound below 1).
  public mutating func below(_ bound: Int) -> Int {
    guard bound > 1 else { return 0 }
    return Int(next() % UInt64(bound))
  }
}
