import Glibc

/// A fixture whose objects are all registered for cleanup: removing them is
/// the same for every such fixture, and so is waking a parent whose child failed.
protocol RegisteredFixture: Fixture {
  /// The measurement's objects, as registered in cleanup.c.
  var entries: [CleanupEntry] { get set }

  /// Whether removing the objects ends the parent's blocked call, as
  /// removing a System V object does (EIDRM).
  static var removalWakesTheParent: Bool { get }
}

extension RegisteredFixture {
  func childFailed() -> Bool {
    entries.forEach { $0.removeNow() }
    return Self.removalWakesTheParent
  }

  func remove() {
    entries.forEach { $0.remove() }
    entries = []
  }

  /// The parent's loops from `open`, after which the names are removed: both
  /// sides then hold every object open, so nothing needs them any more.
  func removingNames(after open: () throws -> any MessageLoops) rethrows -> any MessageLoops {
    let loops = try open()
    remove()
    return loops
  }
}

extension Fixture {
  /// None: a child that finds its objects by name or id inherits no descriptor.
  var inherited: [(child: Int32, parent: Int32)] { [] }

  /// Nothing to close when the child holds no end of the parent's.
  func childStarted() {}

  /// Most peers are reached through their objects, not their pid.
  func childRunning(as pid: pid_t) {}
}

extension UniqueName {
  /// Two names, one per direction, under `prefix` ("/" for POSIX objects,
  /// "/tmp/" for files): PREFIXipc-bench-PID-N-to-child and ...-to-parent.
  static func directions(under prefix: String) -> (toChild: String, toParent: String) {
    let base = prefix + next()
    return (base + "-to-child", base + "-to-parent")
  }
}
