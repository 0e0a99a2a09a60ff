import Glibc
import IPC

// Entry points that run an async wait at a resource limit: the wait must
// throw a clear IPCError, never trap. Run through prlimit/setpriv by
// AsyncLimitsTests, with IPC_CHILD_ENTRY_POINT set by hand.

/// Runs `body` on Swift's cooperative pool and exits when it returns; the
/// main thread only parks.
func runAsync(_ body: @escaping @Sendable () async -> Void) -> Never {
  Task {
    await body()
    exit(0)
  }
  while true { pause() }
}

/// Fills the descriptor table, then iterates a POSIX queue's messages: the
/// first await needs the library's poll thread and its wake pipe, so it must
/// throw EMFILE. Prints `threw: CODE` and the error, or what went wrong.
func asyncAtDescriptorLimit(_ context: ChildContext) throws {
  runAsync {
    do throws(IPCError) {
      let name = "/ipc-test-async-limit-\(getpid())"
      let queue = try POSIX.MessageQueue.create(name, maxMessages: 1, messageSize: 16)
      try queue.unlink()
      var filled = 0
      while dup(0) >= 0 { filled += 1 }
      let exhausted = errno == EMFILE
      say("filled \(filled) descriptors, EMFILE: \(exhausted)")
      for try await message in queue.messages() { say("received \(message.bytes.count) bytes") }
      say("the sequence ended without an error")
    } catch {
      say("threw: \(error.code.rawValue) \(error)")
    }
  }
}
