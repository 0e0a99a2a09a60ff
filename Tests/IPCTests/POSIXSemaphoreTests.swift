import CIPCShims
import Foundation
import Testing

@testable import IPC

/// POSIX named semaphores against the real kernel and across processes:
/// P and V, timeouts on the monotonic clock, names, modes, limits, signals.
@Suite("POSIX named semaphores")
struct POSIXSemaphoreTests {
  @Test func waitAndPostMoveTheValue() throws {
    try withPOSIXSemaphore(value: 2) { (semaphore) throws in
      try semaphore.wait()
      #expect(try semaphore.value() == 1)
      #expect(try semaphore.tryWait())
      #expect(try semaphore.tryWait() == false)
      #expect(try semaphore.value() == 0)
      try semaphore.post()
      try semaphore.post()
      #expect(try semaphore.value() == 2)
      #expect(try semaphore.wait(timeout: .seconds(1)))
      #expect(try semaphore.value() == 1)
    }
  }

  @Test func aSecondOpeningSharesTheValue() throws {
    try withPOSIXSemaphore(value: 1) { (semaphore) throws in
      let other = try POSIX.Semaphore.open(semaphore.name)
      try other.post()
      #expect(try semaphore.value() == 2)
      let again = try POSIX.Semaphore.openOrCreate(semaphore.name, value: 9)
      #expect(try again.value() == 2)  // an existing semaphore keeps its value
      try other.close()
      #expect(try semaphore.value() == 2)
    }
  }

  @Test func aTimeoutExpiresAfterItsDurationWithTheValueUnchanged() throws {
    try withPOSIXSemaphore(value: 0) { (semaphore) throws in
      let clock = SuspendingClock()
      let start = clock.now
      #expect(try semaphore.wait(timeout: .milliseconds(150)) == false)
      let elapsed = start.duration(to: clock.now)
      #expect(elapsed >= .milliseconds(150))
      #expect(elapsed < .seconds(5))
      #expect(try semaphore.value() == 0)
      #expect(try semaphore.wait(timeout: .zero) == false)
      #expect(try semaphore.wait(timeout: .seconds(-3)) == false)
      try semaphore.post()
      #expect(try semaphore.wait(timeout: .seconds(Int64.max)))
    }
  }

  @Test func anInjectedInterruptIsRetried() throws {
    try withPOSIXSemaphore(value: 2) { (semaphore) throws in
      let injection = InterruptInjection(.semWait, count: 2)
      try InterruptInjection.$current.withValue(injection) { try semaphore.wait() }
      #expect(injection.delivered == 2)
      let timed = InterruptInjection(.semWait, count: 2)
      let taken = try InterruptInjection.$current.withValue(timed) {
        try semaphore.wait(timeout: .seconds(5))
      }
      #expect(taken)
      #expect(timed.delivered == 2)
      #expect(try semaphore.value() == 0)
    }
  }

  @Test func theModeIsExactlyWhatWasAskedWhateverTheUmask() throws {
    let name = TestNames.next("ipc-sem")
    let semaphore = try POSIX.Semaphore.create(
      name, value: 0, permissions: [.ownerReadWrite, .groupRead, .groupWrite, .otherRead])
    defer { try? semaphore.unlink() }
    // The usual umask 022 would have taken group write away.
    let info = try FileManager.default.attributesOfItem(atPath: "/dev/shm/sem." + name.dropFirst())
    #expect((info[.posixPermissions] as? Int) == 0o664)
  }

  @Test func createOpenAndUnlinkGiveClearErrors() throws {
    try withPOSIXSemaphore { (semaphore) throws in
      let exists = try #require(throws: IPCError.self) { try POSIX.Semaphore.create(semaphore.name) }
      #expect(exists.code == .exists)
      #expect(exists.operation == "sem_open")
      #expect(exists.object == "semaphore \(semaphore.name)")
    }
    let name = TestNames.next("ipc-sem")
    let missing = try #require(throws: IPCError.self) { try POSIX.Semaphore.open(name) }
    #expect(missing.code == .notFound)
    #expect(missing.reason.contains("no semaphore is named \(name); create it first"))
    let unlinked = try #require(throws: IPCError.self) { try POSIX.Semaphore.unlink(name) }
    #expect(unlinked.code == .notFound)
  }

  @Test(arguments: [
    ("tickets", "does not start with '/'"), ("/", "empty after '/'"), ("/a/b", "'/' after the first"),
    ("/" + String(repeating: "x", count: 252), "252 bytes long after '/', more than the 251 allowed"),
  ])
  func badNamesAreRejectedBeforeTheCall(name: String, problem: String) throws {
    let error = try #require(throws: IPCError.self) { try POSIX.Semaphore.create(name) }
    #expect(error.code == .invalidArgument)
    #expect(error.reason.contains(problem))
    #expect(error.reason.contains("such as /tickets"))
    // Nothing was made under any spelling of the name.
    let made = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm")
    #expect(!made.contains("sem." + name.drop(while: { $0 == "/" })))
    // The longest allowed name works.
    if name.count == 253 {
      let longest = "/" + String(repeating: "y", count: 251)
      let semaphore = try POSIX.Semaphore.create(longest)
      try semaphore.unlink()
    }
  }

  @Test func valuesOutsideTheRangeAreRejectedAndAPostAtTheMaximumOverflows() throws {
    let name = TestNames.next("ipc-sem")
    let negative = try #require(throws: IPCError.self) { try POSIX.Semaphore.create(name, value: -1) }
    #expect(negative.reason.contains("outside 0 to 2147483647 (SEM_VALUE_MAX)"))
    #expect(throws: IPCError.self) { try POSIX.Semaphore.create(name, value: Int(Int32.max) + 1) }
    #expect(throws: IPCError.self) { try POSIX.Semaphore.open(name) }
    try withPOSIXSemaphore(value: POSIX.Semaphore.maxValue) { (semaphore) throws in
      let error = try #require(throws: IPCError.self) { try semaphore.post() }
      #expect(error.code == .overflow)
      #expect(error.reason.contains("SEM_VALUE_MAX 2147483647"))
      #expect(try semaphore.value() == POSIX.Semaphore.maxValue)
    }
  }

  @Test func aFileTooShortForASemaphoreIsRefusedInsteadOfCrashing() throws {
    // Not made by sem_open: mapping it and touching the sem_t would be SIGBUS.
    let name = TestNames.next("ipc-sem")
    let path = "/dev/shm/sem." + name.dropFirst()
    try #require(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let error = try #require(throws: IPCError.self) { try POSIX.Semaphore.open(name) }
    #expect(error.code == .invalidArgument)
    #expect(error.reason.contains("is 3 bytes, too short for a semaphore"))
    #expect(throws: IPCError.self) { try POSIX.Semaphore.openOrCreate(name, value: 1) }
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
  }

  @Test func aClosedObjectSaysSo() throws {
    try withPOSIXSemaphore(value: 1) { (semaphore) throws in
      let other = try POSIX.Semaphore.open(semaphore.name)
      try other.close()
      let error = try #require(throws: IPCError.self) { try other.wait() }
      #expect(error.code == .badDescriptor)
      #expect(error.reason.contains("was closed"))
      #expect(throws: IPCError.self) { try other.close() }
      #expect(try semaphore.value() == 1)
    }
  }

  // MARK: Across processes

  @Test(.prompt) func aPostInOneProcessWakesAWaitInAnother() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let ready = try POSIX.Semaphore.create(TestNames.next("ipc-sem"))
      defer { try? ready.unlink() }
      // Posts once the child is about to wait, on a thread of its own (the
      // exit test may hold the cooperative pool's threads meanwhile).
      let poster = BackgroundWork {
        let announced = try ready.wait(timeout: .seconds(30))
        usleep(50_000)
        try semaphore.post()
        return announced
      }
      await #expect(processExitsWith: .success) {
        [name = semaphore.name as String, ready = ready.name as String] in
        alarm(60)
        let semaphore = try POSIX.Semaphore.open(name)
        guard try semaphore.value() == 0 else { exit(3) }
        try POSIX.Semaphore.open(ready).post()
        try semaphore.wait()
      }
      #expect(try poster.value())
      #expect(try semaphore.value() == 0)
    }
  }

  @Test(.prompt) func signalsDuringABlockingWaitAreRetriedAndNothingIsLost() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      await #expect(processExitsWith: .success) { [name = semaphore.name as String] in
        alarm(60)
        let semaphore = try POSIX.Semaphore.open(name)
        let signaller = interruptCallingThread(3, whileBlockedIn: futexWaitChannels) {
          try semaphore.post()
          try semaphore.post()
        }
        try semaphore.wait()
        try signaller.value()
        guard signalsCaught == 3 else { exit(4) }
      }
      // One wait took one, once.
      #expect(try semaphore.value() == 1)
    }
  }

  @Test(.prompt) func aTimedWaitKeepsItsDeadlineWhileSignalsKeepArriving() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      await #expect(processExitsWith: .success) { [name = semaphore.name as String] in
        let semaphore = try POSIX.Semaphore.open(name)
        try checkTimedWaitKeepsItsDeadlineUnderSignals { try semaphore.wait(timeout: $0) }
      }
      #expect(try semaphore.value() == 0)
    }
  }
}
