import Foundation
import IPC
import Testing

/// `ipc demo bounded-buffer`: real producer and consumer processes over a
/// System V segment and semaphore set; every item arrives exactly once, and
/// both objects are gone afterwards, also after a signal or a killed child.
@Suite("ipc demo bounded-buffer")
struct BoundedBufferDemoTests {
  struct Run: CustomTestStringConvertible, Sendable {
    var producers: Int
    var consumers: Int
    var items: Int
    var slots: Int
    var testDescription: String { "\(producers)p \(consumers)c \(items) items \(slots) slots" }
  }

  @Test(
    arguments: [
      Run(producers: 3, consumers: 2, items: 1000, slots: 8),  // the defaults, given explicitly
      Run(producers: 2, consumers: 2, items: 400, slots: 1),  // one slot: strict alternation
      Run(producers: 1, consumers: 5, items: 300, slots: 2),  // more consumers than producers
      Run(producers: 2, consumers: 6, items: 3, slots: 1),  // more consumers than items
      Run(producers: 4, consumers: 1, items: 250, slots: 64),
      Run(producers: 2, consumers: 3, items: 0, slots: 4),  // nothing to do, stop items only
    ])
  func everyItemIsConsumedExactlyOnce(_ run: Run) throws {
    let demo = try Tools.ipc(
      "demo", "bounded-buffer", "--producers", "\(run.producers)", "--consumers", "\(run.consumers)",
      "--items", "\(run.items)", "--slots", "\(run.slots)")
    defer { removeLeftovers(demo.standardOutput) }
    let output = demo.standardOutput
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    #expect(output.contains("(empty \(run.slots), full 0, mutex 1)"))
    for producer in 1...run.producers {
      #expect(output.contains("producer \(producer) (pid "))
      #expect(output.contains("): put \(run.items) items"))
    }
    let total = run.producers * run.items
    let noun = run.producers == 1 ? "producer" : "producers"
    #expect(
      output.contains(
        "produced \(total) items (\(run.producers) \(noun) × \(run.items)), consumed \(total) ("))
    let perConsumer = consumedPerConsumer(output)
    #expect(perConsumer.count == run.consumers)
    #expect(perConsumer.reduce(0, +) == total)
    for (index, count) in perConsumer.enumerated() {
      #expect(output.contains("consumer \(index + 1) (pid "))
      #expect(output.contains("): took \(count) items"))
    }
    #expect(output.contains(" s\nbounded-buffer: every item consumed exactly once; shared memory segment "))
    try expectRemoved(output)
  }

  @Test func theDefaultsAreThreeProducersTwoConsumersAThousandItemsEightSlots() throws {
    let demo = try Tools.ipc("demo", "bounded-buffer")
    defer { removeLeftovers(demo.standardOutput) }
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    #expect(output.contains("(empty 8, full 0, mutex 1); starting 3 producers and 2 consumers"))
    #expect(output.contains("produced 3000 items (3 producers × 1000), consumed 3000 (consumer 1: "))
    #expect(consumedPerConsumer(output).reduce(0, +) == 3000)
    #expect(output.contains("every item consumed exactly once"))
    try expectRemoved(output)
  }

  @Test(
    arguments: [
      (["--slots", "0"], "--slots: expected a number of slots from 1 to 32767, got '0'"),
      (["--slots", "40000"], "--slots: expected a number of slots from 1 to 32767, got '40000'"),
      (["--items", "-1"], "--items: expected a number of items from 0 to 10000000, got '-1'"),
      (["--items", "many"], "--items: expected a number of items from 0 to 10000000, got 'many'"),
      (["--producers", "0"], "--producers: expected a number of processes from 1 to 100, got '0'"),
      (["--consumers", "0"], "--consumers: expected a number of processes from 1 to 100, got '0'"),
      (["--producers", "100", "--items", "200000"], "--producers × --items is 20000000, more than 10000000"),
      (["--frobnicate"], "unknown option --frobnicate"),
      (["--slots"], "--slots: missing value"),
    ])
  func badArgumentsAreUsageErrors(_ arguments: [String], _ message: String) throws {
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo", "bounded-buffer"] + arguments)
    expectUsageError(demo, arguments, mentioning: "ipc demo bounded-buffer: \(message)")
    // Rejected before anything was made.
    #expect(!demo.standardOutput.contains("made"))
  }

  @Test func theUsageDocumentsIt() throws {
    let help = try Tools.ipc("demo", "--help")
    #expect(help.exitStatus == 0)
    #expect(help.standardOutput.contains("usage: ipc demo bounded-buffer [options]"))
    let own = try Tools.ipc("demo", "bounded-buffer", "--help")
    #expect(own.exitStatus == 0)
    for option in ["--producers N", "--consumers N", "--items N"] {
      #expect(own.standardOutput.contains(option), "\(own.standardOutput)")
    }
    #expect(
      own.standardOutput.contains(#/--slots N +slots in the ring \(default 8\)/#), "\(own.standardOutput)")
  }

  @Test func aSignalMidwayRemovesTheSegmentAndTheSet() throws {
    let (demo, children) = try startLongRun()
    defer { removeLeftovers(demo.standardOutput) }
    let ids = try #require(objectIDs(demo.standardOutput))
    #expect(try listed(ids.memory, in: "shm"))
    #expect(try listed(ids.semaphores, in: "sem"))
    kill(demo.pid, SIGTERM)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 128 + SIGTERM)
    #expect(!demo.standardOutput.contains("put 2000000 items"), "the run ended before the signal")
    #expect(
      demo.standardError.contains(
        "interrupted by signal \(SIGTERM); shared memory segment \(ids.memory) and semaphore set \(ids.semaphores) removed"
      ))
    // The supervisor stopped the children and waited for every one.
    for child in children { #expect(kill(child, 0) == -1 && errno == ESRCH, "child \(child) still runs") }
    try expectRemoved(demo.standardOutput)
  }

  @Test func aKilledConsumerStopsTheRunAndRemovesBoth() throws {
    let (demo, children) = try startLongRun()
    defer { removeLeftovers(demo.standardOutput) }
    let consumer = try #require(children.first { DemoProcesses.entryPoint(of: $0) == "bounded-consumer" })
    kill(consumer, SIGKILL)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 1)
    let error = demo.standardError
    #expect(error.contains("bounded-buffer failed: consumer "))
    #expect(
      error.contains(" (pid \(consumer)) killed by SIGKILL (signal 9); shared memory segment "), "\(error)")
    #expect(!demo.standardOutput.contains("exactly once"))
    for child in children { #expect(kill(child, 0) == -1 && errno == ESRCH, "child \(child) still runs") }
    try expectRemoved(demo.standardOutput)
  }

  @Test func killingTheParentLeavesNoProcessAndNoObject() throws {
    let (demo, children) = try startLongRun()
    defer { removeLeftovers(demo.standardOutput) }
    let ids = try #require(objectIDs(demo.standardOutput))
    // The children remove both objects themselves once their parent is gone.
    DemoProcesses.expectKillingTheParentLeavesNothing(demo, children: children) {
      !systemVExists(ids.memory, in: "shm")
        && !systemVExists(ids.semaphores, in: "sem")
    }
    #expect(!demo.standardOutput.contains("exactly once"))
  }
}
