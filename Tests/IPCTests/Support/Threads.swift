import Synchronization

/// Strings recorded from any thread (a notification runs on its own).
final class Recorder: Sendable {
  private let storage = Mutex<[String]>([])
  func append(_ item: String) { storage.withLock { $0.append(item) } }
  var items: [String] { storage.withLock { $0 } }
}

/// A flag one thread sets and another reads.
final class Flag: Sendable {
  private let value = Atomic<Bool>(false)
  var isSet: Bool { value.load(ordering: .acquiring) }
  func set() { value.store(true, ordering: .releasing) }
}
