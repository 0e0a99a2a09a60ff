import Glibc
import IPC
import Synchronization

/// The producers and consumers of `ipc stress`: each a real process started
/// by the parent, replaced by a new one in the same slot when it is killed.
enum StressParties {
  /// The entry points' names.
  enum Role {
    static let producer = "stress-producer"
    static let consumer = "stress-consumer"
  }

  static var entryPoints: [String: EntryPoints.Body] {
    [
      Role.producer: DemoGroup.entryPoint { try produce(Slot($0)) },
      Role.consumer: DemoGroup.entryPoint { try consume(Slot($0)) },
    ]
  }

  /// The arguments a child is given: the mechanism, its slot, and the run's shape.
  static func arguments(_ mechanism: StressMechanism, slot: Int, ledger: StressLedger) -> [String] {
    [mechanism.rawValue, "\(slot)", "\(ledger.producers)", "\(ledger.consumers)", "\(ledger.messages)"]
  }

  /// What a child knows: its mechanism, slot and the ledger, checked as the
  /// options are (a hidden role is input too).
  struct Slot {
    let mechanism: StressMechanism
    let index: Int
    let ledger: StressLedger
    let region: SharedRegion
    let endpoint: StressEndpoint

    init(_ context: ChildContext) throws {
      let words = context.arguments
      let numbers = words.dropFirst().map { Int($0) }
      let processes = 1...StressCommand.maxProcesses
      guard words.count == 5, let mechanism = StressMechanism(rawValue: words[0]),
        let index = numbers[0], let producers = numbers[1], let consumers = numbers[2],
        let messages = numbers[3], processes.contains(producers), processes.contains(consumers),
        (1...StressCommand.maxMessagesInAll / producers).contains(messages),
        index >= 0, index < (context.entryPoint == Role.producer ? producers : consumers)
      else {
        throw CommandFailure("\(context.entryPoint) was given bad arguments \(words)")
      }
      self.mechanism = mechanism
      self.index = index
      ledger = StressLedger(producers: producers, consumers: consumers, messages: messages)
      let memory = try context.open("ledger", as: SystemV.SharedMemory.self)
      guard memory.size == ledger.size else {
        throw CommandFailure("segment \(memory.id) has \(memory.size) bytes, not \(ledger.size)")
      }
      region = try memory.attach()
      endpoint = try mechanism.endpoint(in: context, producing: context.entryPoint == Role.producer)
    }
  }

  /// The signals of a storm that have handlers: installed without
  /// SA_RESTART, so each one interrupts a blocking call with EINTR, which the
  /// library must retry without losing or repeating anything.
  static var caughtSignals: [Int32] {
    let realTime = __libc_current_sigrtmin()
    return [SIGUSR1, SIGUSR2, realTime, realTime + 1, realTime + 2]
  }

  /// Signals this process's handlers caught. An atomic, not a plain `var`:
  /// one handler can interrupt another (or a read of the count), and Swift's
  /// exclusivity check ends the process on such overlapping accesses to a `var`.
  static let caught = Atomic<Int>(0)

  private static func installHandlers() {
    // Touched here first: the handler then never runs a static's one-time
    // initialization, which is not safe in a signal handler.
    caught.store(0, ordering: .relaxed)
    for signal in caughtSignals {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { _ in
        StressParties.caught.wrappingAdd(1, ordering: .relaxed)
      }
      sigemptyset(&action.sa_mask)
      action.sa_flags = 0
      sigaction(signal, &action, nil)
    }
  }

  // MARK: Producer

  /// Sends its messages from the one after the last committed: a replacement
  /// carries on where the killed one's record ends. `attempting` is stored
  /// before each send and `committed` after it, so the parent knows the one
  /// message whose fate a kill can leave open (sent, but not recorded): the
  /// replacement sends it again, and a second copy of exactly that message is
  /// counted "in flight at kill", not duplicated.
  private static func produce(_ slot: Slot) throws {
    installHandlers()
    let ledger = slot.ledger
    let region = slot.region
    let producer = slot.index
    try region.atomicStore(Int64(getpid()), at: ledger.producerReady(producer))
    let caught = try Caught(region: region, offset: ledger.producerCaught(producer))
    let first = Int(try region.atomicLoad(Int64.self, at: ledger.committed(producer))) + 1
    guard first >= 1, first <= ledger.messages + 1 else {
      throw CommandFailure("producer \(producer): the ledger says \(first - 1) were sent")
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: StressMessage.frameSize, alignment: 8)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    for sequence in stride(from: first, through: ledger.messages, by: 1) {
      try region.atomicStore(Int64(sequence), at: ledger.attempting(producer))
      let length = StressMessage.encode(producer: UInt32(producer), sequence: UInt32(sequence), into: buffer)
      try slot.endpoint.send(
        UnsafeRawBufferPointer(rebasing: buffer[0..<(slot.mechanism.isStream ? buffer.count : length)]))
      try region.atomicStore(Int64(sequence), at: ledger.committed(producer))
      try caught.publish()
    }
  }

  // MARK: Consumer

  /// Receives until a stop message, recording each message in the ledger as
  /// it comes: its count, whether it came after a later one of its producer
  /// (per consumer slot), whether its checksum matched. A kill can take at
  /// most the one message between the receive and the count with it.
  private static func consume(_ slot: Slot) throws {
    installHandlers()
    let ledger = slot.ledger
    let region = slot.region
    let consumer = slot.index
    var last = try (0..<ledger.producers).map {
      Int(try region.atomicLoad(Int64.self, at: ledger.last(consumer: consumer, producer: $0)))
    }
    let caught = try Caught(region: region, offset: ledger.consumerCaught(consumer))
    try region.atomicStore(Int64(getpid()), at: ledger.consumerReady(consumer))
    var fault = StressFault.fromEnvironment()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: StressMessage.frameSize, alignment: 8)
    defer { buffer.deallocate() }

    func record(_ decoded: StressMessage.Decoded) throws(IPCError) {
      guard case .message(let producer, let sequence, let intact) = decoded,
        (0..<ledger.producers).contains(producer), (1...ledger.messages).contains(sequence)
      else {
        // No message of this run: nothing in it can be trusted.
        try region.atomicAdd(Int64(1), at: StressLedger.corrupted)
        return
      }
      // A flipped payload byte is counted where the header says, so it shows
      // as corrupted and not also as lost.
      if !intact { try region.atomicAdd(Int64(1), at: StressLedger.corrupted) }
      if sequence < last[producer] { try region.atomicAdd(Int64(1), at: StressLedger.reordered) }
      if sequence > last[producer] {
        last[producer] = sequence
        try region.atomicStore(
          Int64(sequence), at: ledger.last(consumer: consumer, producer: producer))
      }
      try region.atomicAdd(Int32(1), at: ledger.count(producer: producer, sequence: sequence))
      try region.atomicAdd(Int64(1), at: ledger.received(consumer))
    }

    while true {
      let count = try slot.endpoint.receive(buffer)
      fault.corruptIfTarget(buffer, count: count)
      let decoded = StressMessage.decode(
        UnsafeRawBufferPointer(buffer), count: count, exact: !slot.mechanism.isStream)
      if decoded == .stop {
        try caught.publish()
        if let held = fault.release() { try record(held) }
        return
      }
      for message in fault.apply(to: decoded) { try record(message) }
      try caught.publish()
      if fault.fired {
        try region.atomicAdd(Int64(1), at: StressLedger.faults)
        fault.fired = false
      }
    }
  }

  /// A slot's count of caught signals in the ledger: what the slot's earlier
  /// processes caught, plus this one's, so a kill loses at most the last few.
  private struct Caught {
    let region: SharedRegion
    let offset: Int
    let base: Int64

    init(region: SharedRegion, offset: Int) throws(IPCError) {
      self.region = region
      self.offset = offset
      base = try region.atomicLoad(Int64.self, at: offset)
    }

    func publish() throws(IPCError) {
      try region.atomicStore(
        base &+ Int64(StressParties.caught.load(ordering: .relaxed)), at: offset, ordering: .relaxed)
    }
  }
}
