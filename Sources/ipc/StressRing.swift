import Glibc
import IPC

/// The `shm-ring` mechanism of `ipc stress`: a ring of message frames in a
/// private System V segment, guarded by a robust process-shared mutex.
///
///     0      mutex (robust: a holder killed with SIGKILL hands it on as "owner died")
///     192    in: frames ever put (Int64)
///     200    out: frames ever taken (Int64)
///     256    slots × frameSize
///
/// A put writes the frame into its slot, then `in` + 1; a take copies the
/// frame out, then `out` + 1: one store commits each, so whatever a killed
/// holder left is consistent, and the next holder only marks it so.
///
/// A full or empty ring is waited for by sleeping (20 µs, doubling up to
/// 1 ms) and looking again, not on a `pthread_cond_t`: glibc's condition
/// variable is not robust, and a waiter killed inside `pthread_cond_wait`
/// can leave `pthread_cond_signal` waiting for it forever in every other
/// process (seen in this very run: it hung at the first kill).
struct StressRing {
  static let slots = 16
  static let mutexOffset = 0
  static let inOffset = 192
  static let outOffset = 200
  static let slotsOffset = 256
  static let size = slotsOffset + slots * StressMessage.frameSize

  let region: SharedRegion
  let mutex: SharedMutex

  /// Sets up the mutex in a new segment's region (the parent, once).
  static func initialize(_ region: SharedRegion) throws(IPCError) -> StressRing {
    StressRing(region: region, mutex: try region.initializeMutex(at: mutexOffset))
  }

  /// The ring a child was handed.
  static func open(_ region: SharedRegion) throws(IPCError) -> StressRing {
    StressRing(region: region, mutex: try region.mutex(at: mutexOffset))
  }

  /// Puts one frame (``StressMessage/frameSize`` bytes), waiting while the ring is full.
  func put(_ frame: UnsafeRawBufferPointer) throws(IPCError) {
    var backoff = Backoff()
    while true {
      let done = try locked { () throws(IPCError) -> Bool in
        let count = try region.atomicLoad(Int64.self, at: Self.inOffset)
        guard count - (try region.atomicLoad(Int64.self, at: Self.outOffset)) < Int64(Self.slots) else {
          return false
        }
        try region.write(
          UnsafeRawBufferPointer(rebasing: frame[0..<StressMessage.frameSize]),
          at: Self.slotsOffset + Int(count % Int64(Self.slots)) * StressMessage.frameSize)
        try region.atomicStore(count + 1, at: Self.inOffset)
        return true
      }
      if done { return }
      backoff.pause()
    }
  }

  /// Takes one frame into `buffer`, waiting while the ring is empty.
  func take(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) {
    var backoff = Backoff()
    while true {
      let done = try locked { () throws(IPCError) -> Bool in
        let count = try region.atomicLoad(Int64.self, at: Self.outOffset)
        guard try region.atomicLoad(Int64.self, at: Self.inOffset) != count else { return false }
        try region.bytes(
          at: Self.slotsOffset + Int(count % Int64(Self.slots)) * StressMessage.frameSize,
          into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<StressMessage.frameSize]))
        try region.atomicStore(count + 1, at: Self.outOffset)
        return true
      }
      if done { return }
      backoff.pause()
    }
  }

  /// Runs `body` holding the mutex; a holder that died left nothing to repair.
  private func locked<R>(_ body: () throws(IPCError) -> R) throws(IPCError) -> R {
    if try mutex.lock() == .ownerDied { try mutex.markConsistent() }
    let result: R
    do throws(IPCError) {
      result = try body()
    } catch {
      try? mutex.unlock()
      throw error
    }
    try mutex.unlock()
    return result
  }

  /// Sleeps a little longer each time: 20 µs, doubling up to 1 ms.
  private struct Backoff {
    var nanoseconds = 20_000

    mutating func pause() {
      var request = timespec(tv_sec: 0, tv_nsec: nanoseconds)
      var remaining = timespec()
      // A signal cuts the sleep short: the ring is looked at again, as after a full one.
      _ = nanosleep(&request, &remaining)
      nanoseconds = min(nanoseconds * 2, 1_000_000)
    }
  }
}
