import Glibc
import IPC
import IPCToolSupport

/// `ipc demo bounded-buffer`: the classic producer/consumer problem with real
/// processes, a System V shared memory ring and a System V semaphore set
/// (empty, full, mutex), checked item by item afterwards.
enum BoundedBufferDemo {
  /// The semaphores of the set, in order: `create(values: [slots, 0, 1])`.
  enum Semaphore {
    /// Free slots: a producer's P waits while the ring is full.
    static let empty = 0
    /// Filled slots: a consumer's P waits while the ring is empty.
    static let full = 1
    /// Guards the ring's slots and indexes.
    static let mutex = 2
  }

  /// The numbers a run is made of; the parent passes them on to each child,
  /// which computes the same layout from them.
  struct Parameters {
    var producers = 3
    var consumers = 2
    var items = 1000
    var slots = 8

    /// The most processes of either kind: each is a real process.
    static let maxProcesses = 100
    /// The most items in all: the segment holds a 4-byte count per item.
    static let maxItems = 10_000_000

    static let producersOption = Option<Int>.integer(
      "--producers", 1...maxProcesses, what: "a number of processes", help: "producer processes (default 3)")
    static let consumersOption = Option<Int>.integer(
      "--consumers", 1...maxProcesses, what: "a number of processes", help: "consumer processes (default 2)")
    static let itemsOption = Option<Int>.integer(
      "--items", 0...maxItems, what: "a number of items", help: "items each producer puts (default 1000)")
    // The empty semaphore starts at --slots, and no semaphore holds more than SEMVMX.
    static let slotsOption = Option<Int>.integer(
      "--slots", 1...SystemV.SemaphoreSet.Limits.maxValue, what: "a number of slots",
      help: "slots in the ring (default 8)")

    /// The options, in the order a child is given their values.
    static let options = [producersOption, consumersOption, itemsOption, slotsOption]

    /// Reads the four options, each optional; every value was checked by the
    /// parser, the product here, before anything is made.
    init(_ parsed: ParsedArguments) throws(UsageError) {
      producers = parsed[Self.producersOption] ?? producers
      consumers = parsed[Self.consumersOption] ?? consumers
      items = parsed[Self.itemsOption] ?? items
      slots = parsed[Self.slotsOption] ?? slots
      guard producers * items <= Self.maxItems else {
        throw UsageError(
          "--producers × --items is \(producers * items), more than \(Self.maxItems) items in all")
      }
    }

    /// The numbers as a child is given them, after its own number.
    var childArguments: [String] { ["\(producers)", "\(consumers)", "\(items)", "\(slots)"] }

    /// The numbers a child was given, checked as the options are.
    init(childArguments words: ArraySlice<String>) throws(UsageError) {
      guard words.count == Self.options.count else {
        throw UsageError(
          "a child needs \(Self.options.count) numbers, not [\(UsageError.shown(words.joined(separator: " ")))]"
        )
      }
      let names = Self.options.map(\.declaration.name)
      try self.init(BoundedBufferDemo.command.spec.parse(zip(names, words).flatMap { [$0, $1] }))
    }
  }

  /// One slot of the ring: who made the item and its number (both from 1).
  struct Item: BitwiseCopyable {
    var producer: Int32
    var sequence: Int32

    /// Tells a consumer to stop; the last producer puts one per consumer,
    /// after every real item, so the ring's order delivers them last.
    static let stop = Item(producer: -1, sequence: 0)
  }

  /// Where everything lives in the segment (all offsets in bytes):
  ///
  ///     0                 in: how many items were ever put (next slot: in % slots)
  ///     8                 out: how many were ever taken
  ///     16                producers that have not finished yet
  ///     24                per producer, Int64: items it put
  ///     ...               per consumer, Int64: items it took
  ///     ...               per consumer, Int64: items it took that no producer made
  ///     ring              slots × Item
  ///     counts            per item, Int32: how many times it was taken
  ///
  /// The counts are added atomically by consumers after the mutex is given
  /// back, so they check the ring and its semaphores instead of trusting them.
  struct Layout {
    let parameters: Parameters
    static let putCount = 0
    static let takenCount = 8
    static let producersLeft = 16
    private static let header = 24

    init(_ parameters: Parameters) { self.parameters = parameters }

    func produced(_ producer: Int) -> Int { Self.header + 8 * producer }
    func consumed(_ consumer: Int) -> Int { Self.header + 8 * (parameters.producers + consumer) }
    func invalid(_ consumer: Int) -> Int {
      Self.header + 8 * (parameters.producers + parameters.consumers + consumer)
    }
    var ring: Int { Self.header + 8 * (parameters.producers + 2 * parameters.consumers) }
    func slot(_ index: Int64) -> Int {
      ring + MemoryLayout<Item>.stride * Int(index % Int64(parameters.slots))
    }
    var counts: Int { ring + MemoryLayout<Item>.stride * parameters.slots }
    /// The count of item `sequence` (from 1) of `producer` (from 1).
    func count(producer: Int, sequence: Int) -> Int {
      counts + 4 * ((producer - 1) * parameters.items + sequence - 1)
    }
    var size: Int { counts + 4 * parameters.producers * parameters.items }
  }

  /// The children's entry points: each gets the segment and the set handed
  /// over, and its number and the run's parameters as arguments.
  static var entryPoints: [String: EntryPoints.Body] {
    [
      Role.producer: DemoGroup.entryPoint { try child("producer", $0) },
      Role.consumer: DemoGroup.entryPoint { try child("consumer", $0) },
    ]
  }

  /// The entry points' names.
  enum Role {
    static let producer = "bounded-producer"
    static let consumer = "bounded-consumer"
  }

  static let command = Command(
    spec: CommandSpec(
      "ipc demo bounded-buffer",
      abstract: "the producer/consumer problem on a System V shared memory ring and semaphore set",
      options: Parameters.options,
      discussion: """
        A private System V shared memory segment holds a ring of item slots; a private semaphore set holds empty (the free slots), full (the filled ones) and mutex. Each producer puts its items with P(empty) P(mutex) put V(mutex) V(full); consumers take them with P(full) P(mutex) take V(mutex) V(empty) until the last producer puts one stop item per consumer. Consumers count every item they take in the segment; the parent then checks that each was consumed exactly once (exit status 1 if not). Both objects are removed on every path, as for the walk-through.
        """),
    body: { parsed in try coordinate(Parameters(parsed)) })

  // MARK: The parent

  /// Makes the segment and the set, starts the children under one
  /// supervisor, waits for them (the supervisor removes both objects on
  /// every path) and checks every item's count.
  private static func coordinate(_ parameters: Parameters) throws {
    let layout = Layout(parameters)
    let group = try DemoGroup()
    var region: SharedRegion?
    var start = ContinuousClock.now
    let outcome = try group.supervise {
      let memory = try group.make(SystemV.SharedMemory.create(size: layout.size)) {
        "shared memory segment \($0.id)"
      }
      let set = try group.make(SystemV.SemaphoreSet.create(values: [parameters.slots, 0, 1])) {
        "semaphore set \($0.id)"
      }
      // Attached before any child starts: the mapping stays valid after the
      // supervisor removes the segment, so the verdict is read afterwards.
      let attached = try memory.attach()
      region = attached
      try attached.store(Int64(parameters.producers), at: Layout.producersLeft)
      Output.line(
        "bounded-buffer: made shared memory segment \(memory.id) (\(layout.size) bytes) and semaphore set "
          + "\(set.id) (empty \(parameters.slots), full 0, mutex 1); starting "
          + "\(plural(parameters.producers, "producer")) and \(plural(parameters.consumers, "consumer"))")
      start = ContinuousClock.now
      let handed: [String: any Inheritable] = ["memory": memory, "semaphores": set]
      for (role, entryPoint, count) in [
        ("consumer", Role.consumer, parameters.consumers), ("producer", Role.producer, parameters.producers),
      ] {
        for number in 1...count {
          try group.start(
            "\(role) \(number)", entryPoint: entryPoint, handing: handed,
            arguments: ["\(number)"] + parameters.childArguments)
        }
      }
    }
    let elapsed = ContinuousClock.now - start
    let objects = group.removal(outcome)
    if let failure = group.failure(in: outcome) {
      throw CommandFailure("bounded-buffer failed: \(failure); \(objects)")
    }
    guard let region else {
      throw CommandFailure("bounded-buffer: the segment was never attached; \(objects)")
    }
    let verdict = try Verdict(region, layout)
    try region.close()
    let consumed = verdict.consumed.enumerated().map { "consumer \($0.offset + 1): \($0.element)" }
    Output.line(
      "bounded-buffer: produced \(verdict.produced.reduce(0, +)) items (\(plural(parameters.producers, "producer")) "
        + "× \(parameters.items)), consumed \(verdict.consumed.reduce(0, +)) (\(consumed.joined(separator: ", "))) "
        + "in \(seconds(elapsed)) s")
    let problems = verdict.problems(parameters)
    guard problems.isEmpty else {
      throw CommandFailure(
        "bounded-buffer: not every item was consumed exactly once: \(problems.joined(separator: "; ")); \(objects)"
      )
    }
    guard outcome.removalErrors.isEmpty else { throw CommandFailure("bounded-buffer: \(objects)") }
    Output.line("bounded-buffer: every item consumed exactly once; \(objects)")
  }

  /// What the children left in the segment, read once they have all exited.
  private struct Verdict {
    var produced: [Int]
    var consumed: [Int]
    var invalid = 0
    /// Items never taken, and how many there were.
    var lost: [(producer: Int, sequence: Int)] = []
    var lostCount = 0
    /// Items taken more than once, with their count, and how many there were.
    var repeated: [(producer: Int, sequence: Int, count: Int32)] = []
    var repeatedCount = 0

    /// How many examples of each problem are named.
    private static let examples = 3

    init(_ region: SharedRegion, _ layout: Layout) throws {
      let parameters = layout.parameters
      produced = try (0..<parameters.producers).map {
        Int(try region.load(Int64.self, at: layout.produced($0)))
      }
      consumed = try (0..<parameters.consumers).map {
        Int(try region.load(Int64.self, at: layout.consumed($0)))
      }
      invalid = try (0..<parameters.consumers).reduce(0) {
        $0 + Int(try region.load(Int64.self, at: layout.invalid($1)))
      }
      // Millions of counts: one bounds check for all of them, not one per load.
      try region.withUnsafeBytes { bytes in
        for producer in 1...parameters.producers {
          for sequence in stride(from: 1, through: parameters.items, by: 1) {
            let count = bytes.load(
              fromByteOffset: layout.count(producer: producer, sequence: sequence), as: Int32.self)
            if count == 0 {
              lostCount += 1
              if lost.count < Self.examples { lost.append((producer, sequence)) }
            } else if count != 1 {
              repeatedCount += 1
              if repeated.count < Self.examples { repeated.append((producer, sequence, count)) }
            }
          }
        }
      }
    }

    /// Every way the run went wrong, as phrases; empty if none did.
    func problems(_ parameters: Parameters) -> [String] {
      var problems: [String] = []
      for (index, count) in produced.enumerated() where count != parameters.items {
        problems.append("producer \(index + 1) put \(count) items, not \(parameters.items)")
      }
      let expected = parameters.producers * parameters.items
      let taken = consumed.reduce(0, +)
      if taken != expected { problems.append("\(taken) items were taken, not \(expected)") }
      if invalid > 0 { problems.append("\(invalid) items taken named no item any producer made") }
      if lostCount > 0 {
        let named = lost.map { "producer \($0.producer) item \($0.sequence)" }
        problems.append(
          "\(lostCount) never taken (\(named.joined(separator: ", "))\(lostCount > lost.count ? ", …" : ""))")
      }
      if repeatedCount > 0 {
        let named = repeated.map { "producer \($0.producer) item \($0.sequence): \($0.count) times" }
        problems.append(
          "\(repeatedCount) taken more than once (\(named.joined(separator: ", "))"
            + "\(repeatedCount > repeated.count ? ", …" : ""))")
      }
      return problems
    }
  }

  /// `1 producer`, `3 producers`.
  private static func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
  }

  /// `1.234`: seconds with milliseconds.
  private static func seconds(_ duration: Duration) -> String {
    let milliseconds = Int(duration / .milliseconds(1))
    let fraction = String(milliseconds % 1000)
    return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
  }

  // MARK: The children

  /// A producer or consumer: its number and the run's parameters are its
  /// arguments; the segment and the set were handed over.
  private static func child(_ role: String, _ context: ChildContext) throws {
    let arguments = context.arguments
    guard let number = arguments.first.flatMap({ Int($0) }) else {
      throw CommandFailure(
        "\(context.entryPoint) needs its number first, not [\(arguments.joined(separator: " "))]")
    }
    let layout = Layout(try Parameters(childArguments: arguments.dropFirst()))
    let parameters = layout.parameters
    guard (1...(role == "producer" ? parameters.producers : parameters.consumers)).contains(number) else {
      throw CommandFailure("\(role) \(number) is not one of this run's \(role)s")
    }
    let name = "\(role) \(number) (pid \(getpid()))"
    var done = 0
    do {
      let memory = try context.open("memory", as: SystemV.SharedMemory.self)
      guard memory.size == layout.size else {
        throw CommandFailure("\(name): segment \(memory.id) has \(memory.size) bytes, not \(layout.size)")
      }
      let ring = Ring(
        region: try memory.attach(), set: try context.open("semaphores", as: SystemV.SemaphoreSet.self),
        layout: layout)
      if role == "producer" {
        try produce(ring, number: number, done: &done)
      } else {
        try consume(ring, number: number, done: &done)
      }
    } catch let error as IPCError {
      // Another process removed an object under it: the run is being torn down.
      throw CommandFailure("\(name) stopped after \(done) items: \(error)")
    }
  }

  /// The ring as one process sees it: put and take are the textbook P/V sequences.
  private struct Ring {
    let region: SharedRegion
    let set: SystemV.SemaphoreSet
    let layout: Layout

    /// P(empty), P(mutex), store at in, V(mutex), V(full). The mutex is taken
    /// with undo: a process killed while holding it gives it back.
    func put(_ item: Item) throws(IPCError) {
      try set.wait(Semaphore.empty)
      try set.wait(Semaphore.mutex, undo: true)
      let index = try region.load(Int64.self, at: Layout.putCount)
      try region.store(item, at: layout.slot(index))
      try region.store(index + 1, at: Layout.putCount)
      try set.signal(Semaphore.mutex, undo: true)
      try set.signal(Semaphore.full)
    }

    /// P(full), P(mutex), load at out, V(mutex), V(empty).
    func take() throws(IPCError) -> Item {
      try set.wait(Semaphore.full)
      try set.wait(Semaphore.mutex, undo: true)
      let index = try region.load(Int64.self, at: Layout.takenCount)
      let item = try region.load(Item.self, at: layout.slot(index))
      try region.store(index + 1, at: Layout.takenCount)
      try set.signal(Semaphore.mutex, undo: true)
      try set.signal(Semaphore.empty)
      return item
    }
  }

  private static func produce(_ ring: Ring, number: Int, done: inout Int) throws(IPCError) {
    let items = ring.layout.parameters.items
    for sequence in stride(from: 1, through: items, by: 1) {
      try ring.put(Item(producer: Int32(number), sequence: Int32(sequence)))
      done += 1
    }
    try ring.region.store(Int64(done), at: ring.layout.produced(number - 1))
    Output.line("producer \(number) (pid \(getpid())): put \(done) items")
    // The last producer to finish puts the stop items, behind every real one.
    try ring.set.wait(Semaphore.mutex, undo: true)
    let left = try ring.region.load(Int64.self, at: Layout.producersLeft) - 1
    try ring.region.store(left, at: Layout.producersLeft)
    try ring.set.signal(Semaphore.mutex, undo: true)
    if left == 0 {
      for _ in 0..<ring.layout.parameters.consumers { try ring.put(.stop) }
    }
  }

  private static func consume(_ ring: Ring, number: Int, done: inout Int) throws(IPCError) {
    let parameters = ring.layout.parameters
    var invalid: Int64 = 0
    while true {
      let item = try ring.take()
      if item.producer == Item.stop.producer { break }
      done += 1
      let producer = Int(item.producer)
      let sequence = Int(item.sequence)
      guard (1...parameters.producers).contains(producer), sequence >= 1, sequence <= parameters.items else {
        invalid += 1
        continue
      }
      // Atomic, so two consumers given the same item both count it.
      try ring.region.atomicAdd(Int32(1), at: ring.layout.count(producer: producer, sequence: sequence))
    }
    try ring.region.store(Int64(done), at: ring.layout.consumed(number - 1))
    try ring.region.store(invalid, at: ring.layout.invalid(number - 1))
    Output.line("consumer \(number) (pid \(getpid())): took \(done) items")
  }
}
