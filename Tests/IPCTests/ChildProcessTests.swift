import Foundation
import Testing

@testable import IPC

/// ChildProcess with real programs: starting them, their exit statuses, the
/// four ways to wait, signals through the pidfd, and every bad input.
@Suite("Child processes")
struct ChildProcessTests {
  // MARK: Exit status

  @Test func aProgramFoundInPATHExitsWithItsStatus() throws {
    let child = try ChildProcess.start(executable: "sh", arguments: ["-c", "exit 3"])
    #expect(child.name == "sh")
    let status = try child.wait()
    #expect(status == .exited(3))
    #expect(status.shellStatus == 3)
    #expect(!status.isSuccess)
    #expect(status.description == "exited with status 3")
  }

  @Test func aChildKilledByASignalSaysWhich() throws {
    let child = try ChildProcess.start(executable: "/bin/sh", arguments: ["-c", "kill -KILL $$"])
    let status = try child.wait()
    #expect(status == .signalled(SIGKILL, coreDumped: false))
    #expect(status.shellStatus == 128 + SIGKILL)
    #expect(status.description == "killed by SIGKILL (signal 9)")
  }

  @Test func waitingAgainReturnsTheSameStatusAndReapsOnce() throws {
    let child = try ChildProcess.start(executable: "/bin/true")
    #expect(try child.wait() == .exited(0))
    #expect(try child.wait() == .exited(0))
    #expect(try child.tryWait() == .exited(0))
    #expect(try child.wait(timeout: .zero) == .exited(0))
    #expect(child.exitStatus == .exited(0))
    #expect(!child.isRunning)
    // Reaped: no zombie is left in the kernel's table.
    #expect(!FileManager.default.fileExists(atPath: "/proc/\(child.pid)"))
  }

  @Test func timeoutsOfZeroNegativeAndEnormousLength() throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
    #expect(try child.tryWait() == nil)
    #expect(try child.wait(timeout: .zero) == nil)
    #expect(try child.wait(timeout: .milliseconds(-5)) == nil)
    let start = ContinuousClock.now
    #expect(try child.wait(timeout: .milliseconds(60)) == nil)
    #expect(ContinuousClock.now - start >= .milliseconds(60))
    #expect(child.isRunning)
    try child.kill()
    #expect(try child.wait(timeout: .seconds(Int64.max)) == .signalled(SIGKILL, coreDumped: false))
  }

  @Test func terminateSendsSIGTERMAndSignalsAfterReapingFail() throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
    try child.terminate()
    #expect(try child.wait() == .signalled(SIGTERM, coreDumped: false))
    let error = #expect(throws: IPCError.self) { try child.send(SIGTERM) }
    #expect(error?.code == .noSuchProcess)
    #expect(
      error?.reason.hasPrefix("the child has ended (killed by SIGTERM (signal 15)) and been reaped") == true)
    #expect(throws: IPCError.self) { try child.kill() }
  }

  @Test(arguments: [Int32(0), -1, 65, 1000])
  func aNumberThatIsNoSignalIsRefusedAndNothingIsSent(_ number: Int32) throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
    let error = #expect(throws: IPCError.self) { try child.send(number) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains("is not a signal number") == true)
    #expect(child.isRunning)
    try child.kill()
    _ = try child.wait()
  }

  @Test func aChildReapedBehindTheLibrarysBackIsAClearError() throws {
    let child = try ChildProcess.start(executable: "/bin/true")
    var status: Int32 = 0
    #expect(waitpid(child.pid, &status, 0) == child.pid)
    let error = #expect(throws: IPCError.self) { try child.wait() }
    #expect(error?.code == .noChild)
    #expect(error?.reason.contains("reaped by something else") == true)
  }

  // MARK: Interruptions

  @Test func anInterruptedWaitGoesOnAndATimedOneKeepsItsDeadline() throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["0.3"])
    let injection = InterruptInjection(.poll, count: 3)
    let status = try InterruptInjection.$current.withValue(injection) { try child.wait() }
    #expect(status == .exited(0))
    #expect(injection.delivered == 3)
    let timed = try ChildProcess.start(executable: "sleep", arguments: ["0.3"])
    let timedInjection = InterruptInjection(.poll, count: 3)
    let timedStatus = try InterruptInjection.$current.withValue(timedInjection) {
      try timed.wait(timeout: .seconds(20))
    }
    #expect(timedStatus == .exited(0), "an interruption ended the timed wait early")
    #expect(timedInjection.delivered == 3)
  }

  @Test(.prompt) func aRealSignalDuringTheWaitDoesNotEndIt() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
      // Three SIGUSR1 (handler without SA_RESTART) while this thread waits in
      // poll on the pidfd, then the child is ended: the wait must see that.
      let signaller = interruptCallingThread(3, whileBlockedIn: pollWaitChannels) {
        try child.terminate()
      }
      guard try child.wait() == .signalled(SIGTERM, coreDumped: false) else { exit(3) }
      try signaller.value()
      guard signalsCaught == 3 else { exit(4) }
    }
  }

  // MARK: Awaiting

  @Test(.prompt) func awaitingTheExitSuspendsTheTask() async throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["0.2"])
    #expect(try await child.wait() == .exited(0))
  }

  @Test(.prompt) func cancellingTheAwaitingTaskLeavesTheChildRunning() async throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
    let waiter = Task { try await child.wait() }
    try await Task.sleep(for: .milliseconds(50))
    waiter.cancel()
    let error = await #expect(throws: IPCError.self) { try await waiter.value }
    #expect(error?.code == .cancelled)
    #expect(child.isRunning)
    try child.kill()
    #expect(try await child.wait() == .signalled(SIGKILL, coreDumped: false))
  }

  // MARK: Without pidfds

  @Test(.prompt) func withoutPidfdsEveryFormStillWorks() async throws {
    try await ChildProcess.$simulatesMissingPidfd.withValue(true) {
      // The blocking timed form, from synchronous code (async code picks the async form).
      let blockingWait = { (child: ChildProcess, timeout: Duration) in try child.wait(timeout: timeout) }
      let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
      #expect(child.pidfd == -1)
      #expect(try blockingWait(child, .milliseconds(20)) == nil)
      #expect(try await child.wait(timeout: .milliseconds(20)) == nil)
      try child.terminate()
      #expect(try blockingWait(child, .seconds(10)) == .signalled(SIGTERM, coreDumped: false))
      #expect(throws: IPCError.self) { try child.kill() }
      let second = try ChildProcess.start(executable: "/bin/sh", arguments: ["-c", "exit 7"])
      #expect(try await second.wait() == .exited(7))
      let third = try ChildProcess.start(executable: "/bin/true")
      #expect(try await third.wait(timeout: .seconds(10)) == .exited(0))
    }
  }

  // MARK: Released handles

  @Test func aReleasedHandleNeitherKillsItsChildNorLeavesAZombie() throws {
    var pid: pid_t = 0
    do {
      let child = try ChildProcess.start(executable: "sleep", arguments: ["0.3"])
      pid = child.pid
    }
    usleep(100_000)
    #expect(!hasEnded(pid), "the child was ended when its handle was released")
    // The watcher thread reaps it once it ends: not even a zombie remains.
    #expect(
      eventually(every: .milliseconds(5)) { !FileManager.default.fileExists(atPath: "/proc/\(pid)") },
      "process \(pid) was never reaped")
  }

  // MARK: Environment, directory, descriptors

  @Test func theEnvironmentIsInheritedUpdatedOrReplaced() throws {
    setenv("IPC_TEST_INHERITED", "yes", 1)
    let inherited = try runToEnd(
      "env", environment: .inherit(updating: ["IPC_TEST_ADDED": "a=b"], removing: ["HOME"]))
    let lines = Set(inherited.output.split(separator: "\n").map(String.init))
    #expect(lines.contains("IPC_TEST_INHERITED=yes"))
    #expect(lines.contains("IPC_TEST_ADDED=a=b"))
    #expect(!lines.contains { $0.hasPrefix("HOME=") })
    let replaced = try runToEnd("/usr/bin/env", environment: .replace(with: ["ONLY": "this"]))
    #expect(replaced.output == "ONLY=this\n")
  }

  @Test(arguments: ["", "A=B", "A\0B"])
  func aVariableNameCCannotCarryIsRefused(_ name: String) throws {
    let error = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", environment: .inherit(updating: [name: "1"]))
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.object == "environment")
  }

  @Test func argumentsAndValuesWithZeroBytesAreRefused() throws {
    let argument = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/echo", arguments: ["a\0b"])
    }
    #expect(argument?.reason.contains("holds a zero byte") == true)
    let value = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", environment: .inherit(updating: ["X": "a\0b"]))
    }
    #expect(value?.reason.contains("zero byte") == true)
  }

  @Test func theWorkingDirectoryIsTheOneAskedFor() throws {
    #expect(try runToEnd("pwd", workingDirectory: "/tmp").output == "/tmp\n")
    let missing = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "pwd", workingDirectory: "/no/such/directory")
    }
    #expect(missing?.code == .notFound)
    #expect(missing?.reason.contains("/no/such/directory") == true)
    let file = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "pwd", workingDirectory: "/etc/hostname")
    }
    #expect(file?.reason.contains("is not a directory") == true)
  }

  @Test func standardStreamsComeFromPipesAndFiles() throws {
    let (input, feed) = try AnonymousPipe.make()
    let (drain, output) = try AnonymousPipe.make()
    let cat = try ChildProcess.start(
      executable: "cat", standardInput: .pipe(input), standardOutput: .pipe(output))
    try input.close()  // the child has its copies: the stream must end when `feed` closes
    try output.close()
    try feed.write(Array("through cat\n".utf8))
    try feed.close()
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64)
    while true {
      let count = try buffer.withUnsafeMutableBytes { try drain.read(into: $0) }
      if count == 0 { break }
      received += buffer[0..<count]
    }
    #expect(String(decoding: received, as: UTF8.self) == "through cat\n")
    #expect(try cat.wait() == .exited(0))

    let file = OutputFile()
    _ = try ChildProcess.start(executable: "echo", arguments: ["one"], standardOutput: .write(to: file.path))
      .wait()
    _ = try ChildProcess.start(
      executable: "echo", arguments: ["two"], standardOutput: .write(to: file.path, appending: true)
    ).wait()
    #expect(file.text == "one\ntwo\n")
    let copy = OutputFile()
    let reading = try ChildProcess.start(
      executable: "cat", standardInput: .read(from: file.path), standardOutput: .write(to: copy.path))
    #expect(try reading.wait() == .exited(0))
    #expect(copy.text == "one\ntwo\n")
    // /dev/null as input: cat sees the end at once.
    #expect(
      try ChildProcess.start(executable: "cat", standardInput: .null, standardOutput: .null).wait()
        == .exited(0))
  }

  @Test func aDescriptorGoesToTheNumberChosen() throws {
    let (reader, writer) = try AnonymousPipe.make()
    let child = try ChildProcess.start(
      executable: "/bin/sh", arguments: ["-c", "echo via five >&5"], descriptors: [5: .pipe(writer)])
    try writer.close()
    #expect(try child.wait() == .exited(0))
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
    #expect(String(decoding: buffer[0..<count], as: UTF8.self) == "via five\n")
  }

  @Test func aPOSIXQueueAndAnInheritedNumberReachAProgram() throws {
    try withPOSIXQueue { queue in
      let file = open("/etc/hostname", O_RDONLY | O_CLOEXEC)
      defer { close(file) }
      let output = OutputFile()
      let child = try ChildProcess.start(
        executable: "/bin/sh", arguments: ["-c", "readlink /proc/self/fd/5; readlink /proc/self/fd/\(file)"],
        standardOutput: .write(to: output.path), descriptors: [5: .queue(queue), file: .inherit])
      #expect(try child.wait() == .exited(0))
      #expect(output.text == "\(queue.name)\n/etc/hostname\n")
    }
    let missing = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", descriptors: [900: .inherit])
    }
    #expect(missing?.reason == "descriptor 900 is not open in this process")
  }

  @Test func exitStatusesNameRealTimeAndUnknownSignals() {
    let realTime = __libc_current_sigrtmin() + 3
    #expect(
      ChildProcess.ExitStatus.signalled(realTime, coreDumped: true).description
        == "killed by SIGRTMIN+3 (signal \(realTime)), core dumped")
    #expect(
      ChildProcess.ExitStatus.signalled(99, coreDumped: false).description
        == "killed by signal 99 (signal 99)")
    #expect(ChildProcess.ExitStatus.signalled(SIGINT, coreDumped: false).shellStatus == 130)
  }

  @Test func descriptorNumbersOutOfRangeOrStandardAreRefused() throws {
    let (_, writer) = try AnonymousPipe.make()
    let high = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", descriptors: [1024: .pipe(writer)])
    }
    #expect(high?.reason.contains("out of range: 3 to 1023") == true)
    let standard = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", descriptors: [1: .pipe(writer)])
    }
    #expect(standard?.reason.contains("standard stream") == true)
    try writer.close()
    let closed = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", standardOutput: .pipe(writer))
    }
    #expect(closed?.code == .badDescriptor)
  }

  @Test func noOtherDescriptorReachesTheChild() throws {
    // Not close-on-exec: without the library's closing it would be inherited.
    let stray = open("/dev/null", O_RDONLY)
    defer { close(stray) }
    #expect(stray > 2)
    let bare = try startPeer("descriptors", diesWithParent: false)
    #expect(try bare.child.wait() == .exited(0))
    #expect(bare.output.text == "0 1 2\n")
    // The lifeline socket of a child that dies with its parent, and a handed end.
    let (reader, _) = try AnonymousPipe.make()
    let handed = try startPeer("descriptors", handing: ["in": reader])
    #expect(try handed.child.wait() == .exited(0))
    #expect(handed.output.text == "0 1 2 3 4\n")
  }

  // MARK: Programs that cannot run

  @Test func aProgramThatDoesNotExistOrCannotRunIsAClearError() throws {
    let missing = #expect(throws: IPCError.self) { try ChildProcess.start(executable: "/no/such/program") }
    #expect(missing?.code == .notFound)
    #expect(missing?.reason == "there is no file at /no/such/program")
    let unknown = #expect(throws: IPCError.self) { try ChildProcess.start(executable: "no-such-program-ipc") }
    #expect(unknown?.code == .notFound)
    #expect(unknown?.reason.contains("no executable named 'no-such-program-ipc' in PATH") == true)
    let directory = #expect(throws: IPCError.self) { try ChildProcess.start(executable: "/tmp") }
    #expect(directory?.code == .permissionDenied)
    #expect(directory?.reason == "/tmp is a directory")
    let empty = #expect(throws: IPCError.self) { try ChildProcess.start(executable: "") }
    #expect(empty?.code == .invalidArgument)
  }

  @Test func aFileWithoutExecutePermissionIsRefused() throws {
    let file = OutputFile()
    _ = FileManager.default.createFile(atPath: file.path, contents: Data("#!/bin/sh\n".utf8))
    chmod(file.path, 0o600)
    // As root, access(X_OK) still needs one execute bit: none is set.
    let error = #expect(throws: IPCError.self) { try ChildProcess.start(executable: file.path) }
    #expect(error?.code == .permissionDenied)
    #expect(error?.reason.contains("is not executable by this user (mode 600)") == true)
  }

  // MARK: Limits, each in a process of its own

  @Test(.prompt) func atTheDescriptorLimitStartingIsAnErrorAndLeaksNothing() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
      limit.rlim_cur = 64
      guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(3) }
      var filler: [Int32] = []
      while true {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd < 0 { break }
        filler.append(fd)
      }
      // Room for none, one or two more descriptors: each stage of a start
      // fails cleanly. Checked without opening anything: fcntl and readlink
      // say what is open, waitpid whether a child exists.
      func openDescriptors() -> [Int32: String] {
        var open: [Int32: String] = [:]
        for fd in Int32(0)..<64 where fcntl(fd, F_GETFD) != -1 {
          var target = [CChar](repeating: 0, count: 256)
          let length = readlink("/proc/self/fd/\(fd)", &target, 256)
          let bytes = target.prefix(max(length, 0)).map { UInt8(bitPattern: $0) }
          open[fd] = String(decoding: bytes, as: UTF8.self)
        }
        return open
      }
      // A leak is a descriptor that appears. The runtime's libdispatch opens
      // and closes event descriptors meanwhile (an eventfd closed mid-run was
      // seen in CI), kinds a start never makes.
      func leaked(since before: [Int32: String]) -> Bool {
        let runtime = ["anon_inode:[eventfd]", "anon_inode:[eventpoll]", "anon_inode:[timerfd]"]
        return openDescriptors().contains { before[$0.key] != $0.value && !runtime.contains($0.value) }
      }
      for free in 0..<3 {
        if free > 0 { close(filler.removeLast()) }
        // With a file to open for the child, and without: then the spawn
        // itself succeeds and pidfd_open fails, and the child is stopped.
        for output in [ChildProcess.Descriptor.write(to: "/dev/null"), .inherit] {
          if free == 0 {
            // Whatever the test runtime closed meanwhile is taken again.
            while case let fd = open("/dev/null", O_RDONLY | O_CLOEXEC), fd >= 0 { filler.append(fd) }
          }
          let before = openDescriptors()
          do {
            let child = try ChildProcess.start(executable: "/bin/true", standardOutput: output)
            // Files are opened by the child: one free descriptor (the pidfd) is
            // enough, and the test runtime may have freed one meanwhile.
            guard try child.wait() == .exited(0) else { exit(4) }
          } catch let error as IPCError {
            guard error.code == .tooManyOpen, error.reason.contains("RLIMIT_NOFILE") else { exit(5) }
            if free == 0, case .inherit = output, error.operation != "pidfd_open" { exit(8) }
          }
          var status: Int32 = 0
          guard waitpid(-1, &status, WNOHANG) == -1, errno == ECHILD else { exit(6) }  // no child left
          guard !leaked(since: before) else { exit(7) }
        }
      }
    }
  }

  @Test(.prompt, .enabled(if: getuid() == 0, "needs root to change user"))
  func atTheProcessLimitStartingIsAnErrorNamingTheLimit() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      // RLIMIT_NPROC does not apply to root: become nobody, allowed no process.
      guard setgid(65534) == 0, setuid(65534) == 0 else { exit(3) }
      var limit = rlimit(rlim_cur: 0, rlim_max: 0)
      guard setrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0 else { exit(4) }
      do {
        _ = try ChildProcess.start(executable: "/bin/true")
        exit(5)
      } catch let error as IPCError {
        guard error.code == .wouldBlock, error.reason.contains("RLIMIT_NPROC (ulimit -u: 0)") else { exit(6) }
      }
    }
  }
}
