import Foundation
import IPC
import Synchronization
import Testing

/// The library's semaphores are the kernel's: plain-C peers that use the raw
/// calls, util-linux's ipcmk/ipcs/ipcrm and Python's sysv_ipc and posix_ipc
/// see the same values, wake the same waiters and get the same undo, in both
/// directions.
@Suite("Semaphore interoperability with C, util-linux and Python")
struct SemaphoreInteropTests {
  // MARK: System V sets and a C peer

  @Test func aSetACPeerCreatedByKeyIsOpenedByKeyWithItsValues() throws {
    let key = TestKeys.next()
    let created = try Peers.systemVSemaphore("create", "\(key.rawValue)", "3,0,7")
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    #expect(created.exitStatus == 0, "\(created.standardError)")
    let id = try #require(Int32(created.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let set = try SystemV.SemaphoreSet.open(key: key)
    #expect(set.id == id)
    #expect(set.count == 3)
    #expect(try set.values() == [3, 0, 7])
    let status = try set.stat()
    #expect(status.key == key)
    #expect(status.permissions.octal == "0600")
    #expect(status.lastOperationTime == nil)  // SETALL and no semop: never "initialised"

    try set.perform([.wait(0), .signal(1)])
    #expect(try Peers.systemVSemaphore("get", "\(id)").standardOutput == "2,1,7\n")
    #expect(try Peers.systemVSemaphore("stat", "\(id)").standardOutput == "nsems=3 mode=0600 otime=set\n")
    #expect(try set.lastPID(at: 0) == getpid())

    let operated = try Peers.systemVSemaphore("op", "\(id)", "1:-1,2:-7", "nowait")
    #expect(operated.exitStatus == 0, "\(operated.standardError)")
    #expect(try set.values() == [2, 0, 0])
    #expect(try set.lastPID(at: 2) == operated.pid)
    let stored = try Peers.systemVSemaphore("set", "\(id)", "0", "9")
    #expect(stored.exitStatus == 0, "\(stored.standardError)")
    #expect(try set.values() == [9, 0, 0])
  }

  @Test func aSetSwiftCreatedIsInitialisedAtomicAndUndoneForACPeer() throws {
    let set = try SystemV.SemaphoreSet.create(values: [1, 0])
    defer { try? set.remove() }
    let id = "\(set.id)"
    // create ran its marking semop: C sees sem_otime set, and the values as given.
    #expect(try Peers.systemVSemaphore("stat", id).standardOutput == "nsems=2 mode=0600 otime=set\n")
    #expect(try Peers.systemVSemaphore("get", id).standardOutput == "1,0\n")

    // One semop of two operations, the second impossible: neither is done.
    let refused = try Peers.systemVSemaphore("op", id, "0:-1,1:-1", "nowait")
    #expect(refused.exitStatus == 1)
    #expect(refused.standardError.hasPrefix("semop: EAGAIN"), "\(refused.standardError)")
    #expect(try set.values() == [1, 0])
    let timedOut = try Peers.systemVSemaphore("op", id, "1:-1", "timeout=50")
    #expect(timedOut.exitStatus == 1)
    #expect(timedOut.standardError.hasPrefix("semtimedop: EAGAIN"), "\(timedOut.standardError)")

    // The kernel reverses a C peer's SEM_UNDO operations when it exits.
    let undone = try Peers.systemVSemaphore("op", id, "0:-1,1:+3", "undo", "nowait")
    #expect(undone.exitStatus == 0, "\(undone.standardError)")
    #expect(try set.values() == [1, 0])

    // And keeps those made without it, which Swift's batches then see.
    #expect(try Peers.systemVSemaphore("op", id, "0:-1,1:+3", "nowait").exitStatus == 0)
    #expect(try set.values() == [0, 3])
    #expect(try set.tryPerform([.wait(0), .signal(1)]) == false)
    #expect(try set.values() == [0, 3])
    #expect(try set.tryPerform([.wait(1, by: 3), .signal(0, by: 2)]) == true)
    #expect(try Peers.systemVSemaphore("get", id).standardOutput == "2,0\n")
  }

  @Test func aCPeerBlockedInSemopIsReleasedBySwiftSignals() throws {
    let set = try SystemV.SemaphoreSet.create(values: [0])
    defer { try? set.remove() }
    let waiter = try SpawnedProcess(try Tools.semPeer.get(), ["op", "\(set.id)", "0:-2"])
    #expect(waiter.waitUntilBlocked(inAnyOf: semopWaitChannels))
    #expect(try set.waitingToDecrease(at: 0) == 1)
    try set.signal(0)  // 1 is not enough for a P of 2: the peer sleeps on
    #expect(waiter.waitUntilBlocked(inAnyOf: semopWaitChannels))
    #expect(try set.waitingToDecrease(at: 0) == 1)
    #expect(try set.value(at: 0) == 1)
    try set.signal(0)
    #expect(waiter.wait(timeout: .seconds(10)))
    #expect(waiter.exitStatus == 0, "\(waiter.standardError)")
    #expect(try set.value(at: 0) == 0)
    #expect(try set.waitingToDecrease(at: 0) == 0)
    #expect(try set.lastPID(at: 0) == waiter.pid)
  }

  @Test func aSwiftWaitIsReleasedByACPeerOperation() throws {
    let set = try SystemV.SemaphoreSet.create(values: [0, 0])
    defer { try? set.remove() }
    let waiter = BackgroundWork { try set.wait(1, by: 2, timeout: .seconds(20)) }
    #expect(try eventually { try set.waitingToDecrease(at: 1) == 1 })
    let peer = try Peers.systemVSemaphore("op", "\(set.id)", "1:+2,0:+1", "nowait")
    #expect(peer.exitStatus == 0, "\(peer.standardError)")
    #expect(try waiter.value() == true)
    #expect(try set.values() == [1, 0])
    #expect(try set.lastPID(at: 1) == getpid())
  }

  @Test func aCHolderKilledBySIGKILLGivesItsSemaphoreBackToTheLock() throws {
    let set = try SystemV.SemaphoreSet.create(values: [1])
    defer { try? set.remove() }
    let lock = try SystemV.SemaphoreLock(set: set)
    let holder = try SpawnedProcess(try Tools.semPeer.get(), ["hold", "\(set.id)", "0", "60"])
    #expect(eventually { holder.standardOutput == "held\n" }, "\(holder.standardError)")
    #expect(try set.value(at: 0) == 0)
    #expect(try lock.tryLock() == false)
    kill(holder.pid, SIGKILL)
    #expect(holder.wait(timeout: .seconds(10)))
    #expect(holder.terminatingSignal == SIGKILL)
    #expect(try set.value(at: 0) == 1)
    #expect(try lock.tryLock() == true)
    #expect(try Peers.systemVSemaphore("get", "\(set.id)").standardOutput == "0\n")
    try lock.unlock()
    #expect(try set.value(at: 0) == 1)
  }

  @Test(.prompt) func aSwiftProcessKilledHoldingTheLockGivesItBackToACPeer() async throws {
    let set = try SystemV.SemaphoreSet.create(values: [1])
    defer { try? set.remove() }
    await #expect(processExitsWith: .signal(SIGKILL)) { [id = set.id as Int32] in
      let lock = try SystemV.SemaphoreLock(set: .open(id: id))
      guard try lock.tryLock(), try lock.set.value() == 0 else { exit(3) }
      kill(getpid(), SIGKILL)
      _ = pause()
    }
    #expect(try Peers.systemVSemaphore("get", "\(set.id)").standardOutput == "1\n")
    let taken = try Peers.systemVSemaphore("op", "\(set.id)", "0:-1", "nowait")
    #expect(taken.exitStatus == 0, "\(taken.standardError)")
    #expect(try set.value(at: 0) == 0)
  }

  @Test func aCPeerWaitingOnASetSwiftRemovesFailsWithEIDRM() throws {
    let set = try SystemV.SemaphoreSet.create(values: [0])
    defer { try? set.remove() }
    let waiter = try SpawnedProcess(try Tools.semPeer.get(), ["op", "\(set.id)", "0:-1"])
    #expect(waiter.waitUntilBlocked(inAnyOf: semopWaitChannels))
    try set.remove()
    #expect(waiter.wait(timeout: .seconds(10)))
    #expect(waiter.exitStatus == 1)
    #expect(waiter.standardError.hasPrefix("semop: EIDRM"), "\(waiter.standardError)")
  }

  @Test func aSwiftWaitOnASetACPeerRemovesEndsWithRemoved() throws {
    let set = try SystemV.SemaphoreSet.create(values: [0])
    defer { try? set.remove() }
    let waiter = BackgroundWork { try set.wait(0, timeout: .seconds(20)) }
    #expect(try eventually { try set.waitingToDecrease(at: 0) == 1 })
    let removed = try Peers.systemVSemaphore("remove", "\(set.id)")
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    let error = #expect(throws: IPCError.self) { try waiter.value() }
    #expect(error?.code == .removed)
    #expect(error?.reason.contains("removed while this process waited") == true)
  }

  // MARK: System V sets and util-linux

  @Test func anIpcmkSetOpensByKeyAtOnceButOpenOrCreateWaitsForASemop() throws {
    // ipcmk picks a random key, which ipcs lists.
    let id = try Tools.ipcmk("-S", "2", "-p", "0600")
    defer { try? SystemV.SemaphoreSet.open(id: id).remove() }
    let key = try #require(try ipcsKey(ofSet: id))

    let set = try SystemV.SemaphoreSet.open(key: key)  // no initializationTimeout: at once
    #expect(set.id == id)
    #expect(set.count == 2)
    #expect(try set.values() == [0, 0])
    #expect(try set.stat().lastOperationTime == nil)

    // No semop has run on it: a call that waits for its creator gives up,
    // and says why.
    let start = ContinuousClock.now
    let timedOut = #expect(throws: IPCError.self) {
      try SystemV.SemaphoreSet.openOrCreate(
        key: key, values: [0, 0], initializationTimeout: .milliseconds(300))
    }
    #expect(ContinuousClock.now - start >= .milliseconds(300))
    #expect(timedOut?.code == .timedOut)
    #expect(timedOut?.reason.contains("ipcmk") == true, "\(String(describing: timedOut))")
    let waited = #expect(throws: IPCError.self) {
      try SystemV.SemaphoreSet.open(key: key, initializationTimeout: .milliseconds(300))
    }
    #expect(waited?.code == .timedOut)
    #expect(try set.values() == [0, 0])  // giving up changed nothing

    // One semop marks it initialised; then openOrCreate opens it.
    try set.signal(1, by: 4)
    #expect(try set.stat().lastOperationTime != nil)
    let reopened = try SystemV.SemaphoreSet.openOrCreate(
      key: key, values: [0, 0], initializationTimeout: .milliseconds(300))
    #expect(reopened == set)
    #expect(try ipcsValues(ofSet: id).values == [0, 4])

    let removed = try SpawnedProcess.run("/usr/bin/env", ["ipcrm", "-S", "\(key)"])
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    expectNotFound { try SystemV.SemaphoreSet.open(key: key) }
  }

  @Test func aSetSwiftCreatedIsShownByIpcsAndRemovedByIpcrm() throws {
    let set = try SystemV.SemaphoreSet.create(values: [4, 0, 2])
    defer { try? set.remove() }
    try set.perform([.wait(0, by: 3), .signal(1)])
    let shown = try ipcsValues(ofSet: set.id)
    #expect(shown.values == [1, 1, 2], "\(shown.text)")
    #expect(shown.text.contains("nsems = 3"), "\(shown.text)")
    #expect(shown.text.contains("mode=0600"), "\(shown.text)")
    #expect(!shown.text.contains("otime = Not set"), "\(shown.text)")
    let removed = try SpawnedProcess.run("/usr/bin/env", ["ipcrm", "-s", "\(set.id)"])
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    expectNotFound { try set.stat() }
  }

  // MARK: System V sets and Python's sysv_ipc

  // sysv_ipc's Semaphore is semaphore 0 of a set. This build's acquire ignores
  // a timeout (sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED is False where its build
  // probe fails), so the scripts use block = False for a P that must not wait.

  @Test(.enabled(if: Python.sysvIPC))
  func pythonSysvIPCUsesASetSwiftCreated() throws {
    let key = TestKeys.next()
    let set = try SystemV.SemaphoreSet.create(key: key, values: [2, 5])
    defer { try? set.remove() }
    let script = """
      import sysv_ipc
      s = sysv_ipc.Semaphore(\(key.rawValue))
      print(s.id, s.value, oct(s.mode), s.o_time > 0, s.last_pid == \(getpid()))
      s.acquire()
      s.acquire()
      s.block = False
      try:
          s.acquire()
          print("acquired a third")
      except sysv_ipc.BusyError:
          print("busy")
      s.release()
      print(s.value)
      """
    let python = try Python.run(script)
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "\(set.id) 2 0o600 True True\nbusy\n1\n")
    #expect(try set.values() == [1, 5])
    #expect(try set.lastPID(at: 0) == python.pid)  // env execs python3: one pid
  }

  @Test(.enabled(if: Python.sysvIPC))
  func aSetPythonCreatedIsUsedBySwift() throws {
    let key = TestKeys.next()
    let create = """
      import sysv_ipc
      s = sysv_ipc.Semaphore(\(key.rawValue), sysv_ipc.IPC_CREX, mode=0o600, initial_value=3)
      print(s.id)
      """
    let python = try Python.run(create)
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let id = try #require(firstNumber(in: python.standardOutput))
    let set = try SystemV.SemaphoreSet.open(key: key)
    #expect(set.id == id)
    #expect(set.count == 1)
    #expect(try set.value() == 3)
    // sysv_ipc sets the value with SETVAL and runs no semop, as ipcmk.
    #expect(try set.stat().lastOperationTime == nil)
    let timedOut = #expect(throws: IPCError.self) {
      try SystemV.SemaphoreSet.openOrCreate(key: key, values: [3], initializationTimeout: .milliseconds(300))
    }
    #expect(timedOut?.code == .timedOut)

    #expect(try set.wait(by: 2, timeout: .seconds(10)) == true)
    let read = try Python.run(
      "import sysv_ipc; s = sysv_ipc.Semaphore(\(key.rawValue)); print(s.value, s.last_pid, s.o_time > 0)")
    #expect(read.exitStatus == 0, "\(read.standardError)")
    #expect(read.standardOutput == "1 \(getpid()) True\n")
  }

  @Test(.enabled(if: Python.sysvIPC))
  func aPythonAcquireBlockedIsReleasedBySwiftSignal() throws {
    let key = TestKeys.next()
    let set = try SystemV.SemaphoreSet.create(key: key, values: [0])
    defer { try? set.remove() }
    let script = """
      import sysv_ipc
      s = sysv_ipc.Semaphore(\(key.rawValue))
      s.acquire(delta=2)
      print("acquired", s.value)
      """
    let waiter = try SpawnedProcess("/usr/bin/env", ["python3", "-c", script])
    #expect(waiter.waitUntilBlocked(inAnyOf: semopWaitChannels, timeout: .seconds(30)))
    #expect(try set.waitingToDecrease() == 1)
    try set.signal(by: 3)
    #expect(waiter.wait(timeout: .seconds(30)))
    #expect(waiter.exitStatus == 0, "\(waiter.standardError)")
    #expect(waiter.standardOutput == "acquired 1\n")
    #expect(try set.value() == 1)
  }

  // MARK: POSIX semaphores and a C peer

  @Test func aCPeerUsesASemaphoreSwiftCreated() throws {
    let name = TestNames.next()
    let semaphore = try POSIX.Semaphore.create(name, value: 2)
    defer { try? POSIX.Semaphore.unlink(name) }
    #expect(fileMode("/dev/shm/sem.\(name.dropFirst())").map { $0 & 0o777 } == 0o600)
    #expect(try Peers.posixSemaphore("value", name).standardOutput == "2\n")
    let waited = try Peers.posixSemaphore("wait", name)
    #expect(waited.exitStatus == 0, "\(waited.standardError)")
    #expect(try semaphore.value() == 1)
    #expect(try semaphore.tryWait() == true)
    let refused = try Peers.posixSemaphore("trywait", name)
    #expect(refused.exitStatus == 1)
    #expect(refused.standardError.hasPrefix("sem_trywait: EAGAIN"), "\(refused.standardError)")
    #expect(try semaphore.value() == 0)
    try semaphore.post()
    #expect(try Peers.posixSemaphore("post", name).exitStatus == 0)
    #expect(try Peers.posixSemaphore("value", name).standardOutput == "2\n")
    #expect(try semaphore.value() == 2)

    let unlinked = try Peers.posixSemaphore("unlink", name)
    #expect(unlinked.exitStatus == 0, "\(unlinked.standardError)")
    expectNotFound { try POSIX.Semaphore.open(name) }
    #expect(try semaphore.value() == 2)  // an opening outlives the name
  }

  @Test func aSemaphoreACPeerCreatedIsUsedBySwift() throws {
    let name = TestNames.next()
    let created = try Peers.posixSemaphore("create", name, "2")
    defer { try? POSIX.Semaphore.unlink(name) }
    #expect(created.exitStatus == 0, "\(created.standardError)")
    let again = try Peers.posixSemaphore("create", name, "5")
    #expect(again.exitStatus == 1)
    #expect(again.standardError.hasPrefix("sem_open: EEXIST"), "\(again.standardError)")
    let exists = #expect(throws: IPCError.self) { try POSIX.Semaphore.create(name, value: 5) }
    #expect(exists?.code == .exists)

    let semaphore = try POSIX.Semaphore.open(name)
    #expect(try semaphore.value() == 2)
    try semaphore.wait()
    #expect(try Peers.posixSemaphore("value", name).standardOutput == "1\n")
    #expect(try semaphore.wait(timeout: .seconds(5)) == true)
    #expect(try semaphore.tryWait() == false)
    #expect(try Peers.posixSemaphore("value", name).standardOutput == "0\n")

    try semaphore.unlink()
    let gone = try Peers.posixSemaphore("value", name)
    #expect(gone.exitStatus == 1)
    #expect(gone.standardError.hasPrefix("sem_open: ENOENT"), "\(gone.standardError)")
  }

  @Test func aCPeerBlockedInSemWaitIsReleasedBySwiftPost() throws {
    let name = TestNames.next()
    let semaphore = try POSIX.Semaphore.create(name, value: 0)
    defer { try? POSIX.Semaphore.unlink(name) }
    let waiter = try SpawnedProcess(try Tools.posixSemPeer.get(), ["wait", name])
    #expect(waiter.waitUntilBlocked(inAnyOf: futexWaitChannels))
    #expect(try semaphore.value() == 0)
    try semaphore.post()
    #expect(waiter.wait(timeout: .seconds(10)))
    #expect(waiter.exitStatus == 0, "\(waiter.standardError)")
    #expect(try semaphore.value() == 0)  // the peer took what Swift posted
  }

  @Test func aSwiftWaitIsReleasedByACPeerPost() throws {
    let name = TestNames.next()
    let semaphore = try POSIX.Semaphore.create(name, value: 0)
    defer { try? POSIX.Semaphore.unlink(name) }
    let waiter = BackgroundWork { try semaphore.wait(timeout: .seconds(20)) }
    let posted = try Peers.posixSemaphore("post", name)
    #expect(posted.exitStatus == 0, "\(posted.standardError)")
    #expect(try waiter.value() == true)
    #expect(try semaphore.value() == 0)
    #expect(try Peers.posixSemaphore("value", name).standardOutput == "0\n")
  }

  // MARK: POSIX semaphores and Python's posix_ipc

  @Test(.enabled(if: Python.posixIPC))
  func pythonPosixIPCUsesASemaphoreSwiftCreated() throws {
    let name = TestNames.next()
    let semaphore = try POSIX.Semaphore.create(name, value: 2)
    defer { try? POSIX.Semaphore.unlink(name) }
    let script = """
      import posix_ipc
      s = posix_ipc.Semaphore("\(name)")
      print(s.value)
      s.acquire()
      s.acquire(5)
      try:
          s.acquire(0)
          print("acquired a third")
      except posix_ipc.BusyError:
          print("busy")
      s.release()
      print(s.value)
      """
    let python = try Python.run(script)
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "2\nbusy\n1\n")
    #expect(try semaphore.value() == 1)
  }

  @Test(.enabled(if: Python.posixIPC))
  func aSemaphorePythonCreatedIsUsedBySwift() throws {
    let name = TestNames.next()
    let create = """
      import posix_ipc
      posix_ipc.Semaphore("\(name)", posix_ipc.O_CREX, mode=0o600, initial_value=3).close()
      """
    let python = try Python.run(create)
    defer { try? POSIX.Semaphore.unlink(name) }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let semaphore = try POSIX.Semaphore.open(name)
    #expect(try semaphore.value() == 3)
    #expect(
      try [semaphore.tryWait(), semaphore.tryWait(), semaphore.tryWait(), semaphore.tryWait()]
        == [true, true, true, false])
    try semaphore.post()
    let read = try Python.run("import posix_ipc; print(posix_ipc.Semaphore('\(name)').value)")
    #expect(read.exitStatus == 0, "\(read.standardError)")
    #expect(read.standardOutput == "1\n")
    let unlinked = try Python.run("import posix_ipc; posix_ipc.unlink_semaphore('\(name)')")
    #expect(unlinked.exitStatus == 0, "\(unlinked.standardError)")
    expectNotFound { try POSIX.Semaphore.open(name) }
  }
}
