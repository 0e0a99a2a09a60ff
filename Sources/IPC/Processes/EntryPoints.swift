import Glibc
import Synchronization

/// The functions of a program that can run in a child process: Python's
/// `Process(target=...)` with the "spawn" start method.
///
/// Name them once, and hand control over at the top of `main`:
///
///     let entryPoints: EntryPoints = ["sender": sender, "receiver": receiver]
///     entryPoints.runIfChild()   // a child runs its entry point and exits here
///     // From here on, this is the parent.
///     let child = try ChildProcess.start(entryPoint: "sender", handing: ["queue": queue])
///
/// ``ChildProcess/start(entryPoint:handing:arguments:environment:workingDirectory:standardInput:standardOutput:standardError:descriptors:diesWithParent:newProcessGroup:executable:in:)``
/// starts a fresh copy of the running executable (`/proc/self/exe`, with
/// `posix_spawn`, never `fork`): `main` runs from the start, and
/// ``runIfChild()`` is where it turns into the entry point. Code before that
/// call runs in every child too, so keep it to what both need.
///
/// A child exits with status 0 when its entry point returns, and 1 when it
/// throws, after printing the error to standard error; 127 means it has no
/// entry point of the name it was started for.
public struct EntryPoints: ExpressibleByDictionaryLiteral {
  /// An entry point: runs in the child with what the parent handed over.
  public typealias Body = (ChildContext) throws -> Void

  private let bodies: [String: Body]

  /// The entry points, by name.
  public init(_ bodies: [String: Body]) { self.bodies = bodies }

  /// The entry points, by name: `["sender": sender, "receiver": receiver]`.
  public init(dictionaryLiteral elements: (String, Body)...) {
    self.bodies = Dictionary(elements) { first, _ in first }
  }

  /// The names a parent may start, known once ``runIfChild()`` ran in it.
  static let registered = Mutex<Set<String>?>(nil)

  /// In a child started for one of these entry points: runs it and exits
  /// the process, never returning. In any other process: remembers the names
  /// (so starting an unknown one fails in the parent, with a clear error)
  /// and returns at once.
  ///
  /// The child first reads and removes the variables its parent passed in
  /// the environment, and starts watching its parent (unless started with
  /// `diesWithParent: false`).
  public func runIfChild() {
    // In a child too: its entry point may start entry points of its own.
    let names = Set(bodies.keys)
    Self.registered.withLock { $0 = ($0 ?? []).union(names) }
    guard let name = getenv(Handover.entryPointVariable).map({ String(cString: $0) }) else { return }
    let handover = getenv(Handover.objectsVariable).map { String(cString: $0) } ?? ""
    let lifeline = getenv(Handover.lifelineVariable).flatMap { Int32(String(cString: $0)) }
    for variable in Handover.variables { unsetenv(variable) }
    let pid = getpid()
    func fail(_ message: String, status: Int32) -> Never {
      let line = "entry point '\(name)' (pid \(pid)): \(message)\n"
      _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
      exit(status)
    }
    do throws(IPCError) {
      if let lifeline { try Lifeline.watch(lifeline, child: "entry point '\(name)'") }
    } catch {
      fail("cannot watch the parent process: \(error)", status: 1)
    }
    guard let objects = Handover.decode(handover) else {
      fail("the handed objects in \(Handover.objectsVariable) are malformed: \(handover)", status: 1)
    }
    guard let body = bodies[name] else {
      fail(
        "this program has no entry point named '\(name)' (it has: "
          + "\(bodies.keys.sorted().joined(separator: ", ")))", status: 127)
    }
    let context = ChildContext(
      entryPoint: name, arguments: Array(CommandLine.arguments.dropFirst()),
      handed: Dictionary(objects.map { ($0.name, $0.inheritance) }) { first, _ in first })
    do {
      try body(context)
    } catch {
      fail("failed: \(error)", status: 1)
    }
    exit(0)
  }
}
