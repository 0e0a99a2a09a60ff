import Glibc
import IPC
import IPCToolSupport

/// One mechanism's torture run: the parent makes the objects, starts the
/// producers and consumers, kills and signals them as the seeded plan says,
/// replaces each killed one, ends the consumers with stop messages, removes
/// everything and counts what arrived.
final class StressRun {
  let mechanism: StressMechanism
  let ledger: StressLedger
  let plan: StressPlan
  private var random: SplitMix64
  private let progress: StressProgress

  private var memory: SystemV.SharedMemory?
  private var region: SharedRegion?
  private var objects: StressObjects?
  private var producers: [ChildProcess?]
  private var consumers: [ChildProcess?]
  private var finished: [Bool]
  /// Per producer, the sequences a kill left open (sent again by the
  /// replacement), with how many kills did: a replacement killed before it
  /// could record its first send leaves the same one open again.
  private var reopened: [[Int: Int]]
  private var producerKills = 0
  private var consumerKills = 0
  private var signalsSent = 0

  init(
    _ mechanism: StressMechanism, ledger: StressLedger, plan: StressPlan, seed: UInt64,
    progress: StressProgress
  ) {
    self.mechanism = mechanism
    self.ledger = ledger
    self.plan = plan
    // Each mechanism its own stream: the same plan whichever others run.
    let index = UInt64(StressMechanism.allCases.firstIndex(of: mechanism) ?? 0)
    random = SplitMix64(state: seed &+ (index &+ 1) &* 0xD1B5_4A32_D192_ED03)
    self.progress = progress
    producers = Array(repeating: nil, count: ledger.producers)
    consumers = Array(repeating: nil, count: ledger.consumers)
    finished = Array(repeating: false, count: ledger.producers)
    reopened = Array(repeating: [:], count: ledger.producers)
  }

  /// Runs it and returns its row; an error only if the run could not be
  /// made or a party failed on its own (the row then says why).
  func run() -> StressRow {
    var row = StressRow(mechanism: mechanism)
    let start = ContinuousClock.now
    var supervisor: Supervisor?
    do {
      // Removes the objects on every path, also when this process gets SIGINT or SIGTERM.
      let group = try Supervisor(onSignal: .stopAndExit)
      supervisor = group
      let memory = try group.removeWhenFinished(SystemV.SharedMemory.create(size: ledger.size))
      self.memory = memory
      let region = try memory.attach()
      self.region = region
      let leak = StressFault.leaksObjects
      let objects = try StressObjects(mechanism, supervisor: group, leak: leak)
      if leak {
        Output.error(
          "stress \(mechanism.rawValue): \(StressFault.variable)=leak: \(objects.label) is not registered for removal"
        )
      }
      self.objects = objects
      // Named before anything runs, so whoever reads the output can check they are gone.
      Output.line("stress \(mechanism.rawValue): made System V segment \(memory.id) and \(objects.label)")
      try drive(region, objects)
      try count(region, into: &row)
    } catch let error as CommandFailure {
      row.failure = error.message
    } catch let error as IPCError {
      row.failure = ErrorText.describe(error)
    } catch {
      row.failure = "\(error)"
    }
    killEveryone()
    row.seconds = ContinuousClock.now - start
    row.kills = producerKills + consumerKills
    row.signals = signalsSent
    objects?.close()
    try? region?.close()
    if let outcome = supervisor?.wait(), !outcome.removalErrors.isEmpty {
      let errors = outcome.removalErrors.map(ErrorText.describe).joined(separator: "; ")
      row.failure = (row.failure.map { $0 + "; " } ?? "") + "removing: " + errors
    }
    if let memory, SystemVTable.lists(memory.id, in: "shm") {
      row.leftovers.append("System V segment \(memory.id)")
    }
    if let objects, objects.isLeftOver { row.leftovers.append(objects.label) }
    progress.clear()
    return row
  }

  // MARK: Driving

  private func drive(_ region: SharedRegion, _ objects: StressObjects) throws {
    for consumer in 0..<ledger.consumers { try startConsumer(consumer) }
    for producer in 0..<ledger.producers { try startProducer(producer) }
    let total = ledger.producers * ledger.messages
    var kills = plan.kills(total: total, producers: ledger.producers, consumers: ledger.consumers, &random)
    var watchdog = Watchdog()
    // Production: kills at their points of progress, signals spread over it.
    while finished.contains(false) {
      try checkProducers(region)
      try checkConsumers()
      let sent = try ledger.sent(in: region)
      // Read together, so the progress line compares like with like.
      let received = try ledger.received(in: region)
      while let kill = kills.first, kill.threshold <= sent, finished.contains(false) {
        kills.removeFirst()
        try perform(kill, region)
      }
      let due = Int(Int64(plan.signals) * Int64(sent) / Int64(max(total, 1)))
      var tries = 0
      while signalsSent < due, tries < 1000, sendSignal(region) { tries += 1 }
      try watchdog.check(sent + received, what: "production")
      progress.show(
        mechanism, sent: sent, received: received, total: total, kills: producerKills + consumerKills,
        signals: signalsSent)
      pause(.milliseconds(5))
    }
    // Draining: kills and signals not yet made go to the consumers, which
    // are taking the last messages or waiting for more.
    for kill in kills {
      try perform(StressPlan.Kill(threshold: 0, producer: false, index: kill.index), region)
    }
    var stalled = 0
    while signalsSent < plan.signals {
      if sendSignal(region) {
        stalled = 0
      } else {
        // No consumer ready yet (one just replaced): give it time.
        stalled += 1
        guard stalled < 10_000 else { throw CommandFailure("no consumer became ready for the last signals") }
        pause(.milliseconds(1))
      }
    }
    // One stop message per consumer, behind every message of the run.
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: StressMessage.frameSize, alignment: 8)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    let length = StressMessage.encode(producer: StressMessage.stopProducer, sequence: 0, into: buffer)
    for _ in 0..<ledger.consumers {
      try objects.parentEnd.send(
        UnsafeRawBufferPointer(rebasing: buffer[0..<(mechanism.isStream ? buffer.count : length)]))
    }
    watchdog = Watchdog()
    while consumers.contains(where: { $0 != nil }) {
      var ended = 0
      for (index, child) in consumers.enumerated() {
        guard let child, let status = try child.tryWait() else { continue }
        guard status.isSuccess else {
          throw CommandFailure("consumer \(index + 1) (pid \(child.pid)) \(status)")
        }
        consumers[index] = nil
        ended += 1
      }
      let received = try ledger.received(in: region)
      try watchdog.check(received + consumers.count(where: { $0 == nil }), what: "draining")
      progress.show(
        mechanism, sent: total, received: received, total: total, kills: producerKills + consumerKills,
        signals: signalsSent)
      if ended == 0 { pause(.milliseconds(5)) }
    }
  }

  private func startProducer(_ index: Int) throws {
    guard let memory, let objects else { return }
    producers[index] = try ChildProcess.start(
      entryPoint: StressParties.Role.producer, handing: ["ledger": memory, "channel": objects.forProducers],
      arguments: StressParties.arguments(mechanism, slot: index, ledger: ledger))
  }

  private func startConsumer(_ index: Int) throws {
    guard let memory, let objects else { return }
    consumers[index] = try ChildProcess.start(
      entryPoint: StressParties.Role.consumer, handing: ["ledger": memory, "channel": objects.forConsumers],
      arguments: StressParties.arguments(mechanism, slot: index, ledger: ledger))
  }

  /// A producer that ended: done if it sent everything, else the run fails.
  private func checkProducers(_ region: SharedRegion) throws {
    for (index, child) in producers.enumerated() where !finished[index] {
      guard let child, let status = try child.tryWait() else { continue }
      let committed = Int(try region.atomicLoad(Int64.self, at: ledger.committed(index)))
      guard status.isSuccess, committed == ledger.messages else {
        throw CommandFailure("producer \(index + 1) (pid \(child.pid)) \(status) after \(committed) messages")
      }
      finished[index] = true
      producers[index] = nil
    }
  }

  /// A consumer ends only on its stop message; before that, any end is a failure.
  private func checkConsumers() throws {
    for (index, child) in consumers.enumerated() {
      guard let child, let status = try child.tryWait() else { continue }
      throw CommandFailure("consumer \(index + 1) (pid \(child.pid)) \(status) before its stop message")
    }
  }

  /// SIGKILL to the planned party (a consumer if that producer is done),
  /// then a new process in its slot. For a producer, the message it was
  /// sending when killed (attempting one past committed) is noted: the
  /// replacement sends it again.
  private func perform(_ kill: StressPlan.Kill, _ region: SharedRegion) throws {
    if kill.producer, !finished[kill.index], let child = producers[kill.index] {
      try? child.kill()
      let status = try child.wait()
      if status == .signalled(SIGKILL, coreDumped: false) {
        let committed = Int(try region.atomicLoad(Int64.self, at: ledger.committed(kill.index)))
        let attempting = Int(try region.atomicLoad(Int64.self, at: ledger.attempting(kill.index)))
        if attempting == committed + 1 { reopened[kill.index][attempting, default: 0] += 1 }
        producerKills += 1
        try startProducer(kill.index)
        return
      }
      // It ended on its own just before: done, or failed.
      try checkProducers(region)
    }
    let index = kill.index % ledger.consumers
    guard let child = consumers[index] else { return }
    try? child.kill()
    let status = try child.wait()
    guard status == .signalled(SIGKILL, coreDumped: false) else {
      throw CommandFailure("consumer \(index + 1) (pid \(child.pid)) \(status) before its stop message")
    }
    consumerKills += 1
    try startConsumer(index)
  }

  /// One signal (or a SIGSTOP/SIGCONT pair) to a party whose handlers are
  /// set; false if none is ready now.
  private func sendSignal(_ region: SharedRegion) -> Bool {
    var ready: [ChildProcess] = []
    for (index, child) in producers.enumerated() {
      if let child, (try? region.atomicLoad(Int64.self, at: ledger.producerReady(index))) == Int64(child.pid)
      {
        ready.append(child)
      }
    }
    for (index, child) in consumers.enumerated() {
      if let child, (try? region.atomicLoad(Int64.self, at: ledger.consumerReady(index))) == Int64(child.pid)
      {
        ready.append(child)
      }
    }
    guard !ready.isEmpty else { return false }
    let target = ready[random.below(ready.count)]
    let choice = random.below(10)
    let caught = StressParties.caughtSignals
    let signals: [Int32] =
      switch choice {
      case 0...6: [caught[random.below(caught.count)]]
      case 7: [SIGCONT]
      default: plan.signals - signalsSent >= 2 ? [SIGSTOP, SIGCONT] : [SIGUSR1]
      }
    for signal in signals {
      // A party that just ended takes nothing; the next try picks another.
      guard (try? target.send(signal)) != nil else { return true }
      signalsSent += 1
    }
    return true
  }

  /// Ends every child still running and reaps it.
  private func killEveryone() {
    for child in producers.compactMap({ $0 }) + consumers.compactMap({ $0 }) {
      try? child.kill()
      _ = try? child.wait()
    }
    producers = producers.map { _ in nil }
    consumers = consumers.map { _ in nil }
  }

  // MARK: Counting

  /// Reads every count once all parties have ended.
  private func count(_ region: SharedRegion, into row: inout StressRow) throws {
    row.sent = try ledger.sent(in: region)
    row.reordered = Int(try region.atomicLoad(Int64.self, at: StressLedger.reordered))
    row.corrupted = Int(try region.atomicLoad(Int64.self, at: StressLedger.corrupted))
    row.faults = Int(try region.atomicLoad(Int64.self, at: StressLedger.faults))
    row.caught = try ledger.caught(in: region)
    var missing = 0
    var duplicated = 0
    var resent = 0
    var received = 0
    try region.withUnsafeBytes { bytes in
      for producer in 0..<ledger.producers {
        for sequence in stride(from: 1, through: ledger.messages, by: 1) {
          let count = Int(
            bytes.load(fromByteOffset: ledger.count(producer: producer, sequence: sequence), as: Int32.self))
          received += count
          if count == 0 {
            missing += 1
            if row.examples.count < 3 {
              row.examples.append("producer \(producer + 1) message \(sequence) never arrived")
            }
          } else if count > 1 {
            // A copy more per kill that left the message open is in flight at
            // that kill; anything beyond is a duplicate.
            let open = reopened[producer][sequence, default: 0]
            resent += min(count - 1, open)
            duplicated += count - 1 - min(count - 1, open)
            if count - 1 > open && row.examples.count < 3 {
              row.examples.append(
                "producer \(producer + 1) message \(sequence) arrived \(count) times (left open by \(open) kills)"
              )
            }
          }
        }
      }
    }
    row.received = received
    row.duplicated = duplicated
    // A killed consumer can take with it the one message between its receive and its record.
    let vanished = min(missing, consumerKills)
    row.lost = missing - vanished
    row.inFlight = vanished + resent
  }

  private func pause(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
  }

  /// Fails a run in which nothing moved for a minute.
  private struct Watchdog {
    static let limit: Duration = .seconds(60)
    private var last = -1
    private var since = ContinuousClock.now

    mutating func check(_ value: Int, what: String) throws {
      if value != last {
        last = value
        since = .now
      } else if ContinuousClock.now - since > Self.limit {
        throw CommandFailure("nothing moved for \(Self.limit) during \(what)")
      }
    }
  }
}

/// What one mechanism's run counted.
struct StressRow {
  var mechanism: StressMechanism
  var sent = 0
  var received = 0
  var lost = 0
  var inFlight = 0
  var duplicated = 0
  var reordered = 0
  var corrupted = 0
  var kills = 0
  var signals = 0
  /// Signals the parties' handlers caught (SIGSTOP and SIGCONT have none).
  var caught = 0
  var leftovers: [String] = []
  var seconds: Duration = .zero
  var faults = 0
  /// A few of the messages lost or duplicated, named.
  var examples: [String] = []
  /// Why the run could not finish, if it could not.
  var failure: String?

  /// Whether the run proved what it should: nothing lost, repeated, out of order or left behind.
  var isClean: Bool {
    failure == nil && lost == 0 && duplicated == 0 && reordered == 0 && corrupted == 0 && leftovers.isEmpty
  }
}
