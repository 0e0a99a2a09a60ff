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

/// Lowers RLIMIT_NPROC to the tasks this user runs now (run it as a user
/// without CAP_SYS_RESOURCE, such as nobody), then awaits a POSIX semaphore
/// nobody posts: the wait needs a new library waiting thread, so it must
/// throw EAGAIN from pthread_create. Prints `threw: CODE` and the error.
func asyncAtThreadLimit(_ context: ChildContext) throws {
  runAsync {
    do throws(IPCError) {
      let name = "/ipc-test-async-threads-\(getpid())"
      let semaphore = try POSIX.Semaphore.create(name, value: 0)
      try semaphore.unlink()
      // The count is the user's tasks, threads included; one more fails.
      var limit = rlimit(rlim_cur: 1, rlim_max: 1)
      guard setrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0 else {
        say("setrlimit failed: \(errno)")
        return
      }
      try await semaphore.wait()
      say("the wait ended without an error")
    } catch {
      say("threw: \(error.code.rawValue) \(error)")
    }
  }
}
