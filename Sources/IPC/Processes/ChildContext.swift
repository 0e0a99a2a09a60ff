import Glibc
import Synchronization

/// What a child process started for an entry point was given: the objects
/// its parent handed over, by name, and its arguments.
///
///     func worker(_ context: ChildContext) throws {
///       let jobs = try context.open("jobs", as: SystemV.MessageQueue.self)
///       let results: PipeEnd = try context.open("results")
///       ...
///     }
///
/// Objects that travel by id or name (System V and POSIX objects, named
/// pipes) are opened anew by each ``open(_:as:)``. Objects that travel as a
/// descriptor (pipe ends, POSIX queue descriptors) are taken over by the
/// first `open`, and later calls return that same object. Descriptors never
/// opened stay open until the child ends: open (and close) a write end you
/// do not use, or its reader will not see the end of the stream.
public final class ChildContext: @unchecked Sendable {
  /// The entry point this process runs.
  public let entryPoint: String
  /// The arguments the parent passed (`CommandLine.arguments` without the program).
  public let arguments: [String]
  /// What the parent handed over, by name.
  private let handed: [String: Inheritance]
  /// Objects made from an inherited descriptor, which exist once; guarded by `lock`.
  private var adopted: [String: Any] = [:]
  private let lock = Mutex(())

  init(entryPoint: String, arguments: [String], handed: [String: Inheritance]) {
    self.entryPoint = entryPoint
    self.arguments = arguments
    self.handed = handed
    // No descriptor of this process should reach its own children unasked.
    for object in handed.values where object.kind.carriesDescriptor {
      _ = fcntl(object.number, F_SETFD, FD_CLOEXEC)
    }
  }

  /// The names of the objects the parent handed over, sorted.
  public var names: [String] { handed.keys.sorted() }

  /// The object the parent handed over as `name`, as a `T`.
  ///
  /// - Throws: `.notFound` if nothing was handed under that name (the error
  ///   lists what was); `.invalidArgument` if it is another kind of object
  ///   than `T`; and the errors of opening it (a queue removed meanwhile is
  ///   `.notFound`).
  public func open<T: Inheritable>(_ name: String, as _: T.Type = T.self) throws(IPCError) -> T {
    guard let object = handed[name] else {
      let known = names.isEmpty ? "nothing was handed over" : "it handed \(names.joined(separator: ", "))"
      throw IPCError(
        code: .notFound, operation: "inherit", object: "'\(name)'",
        reason: "the parent handed no object named '\(name)' to entry point '\(entryPoint)'; \(known)")
    }
    guard object.kind.carriesDescriptor else { return try T.inherit(object) }
    // T need not be Sendable: the object is made and kept under the lock,
    // and handed out as the one instance that owns the descriptor.
    nonisolated(unsafe) var result: T?
    try lock.withLock { (_) throws(IPCError) -> Void in
      if let existing = adopted[name] {
        guard let same = existing as? T else {
          throw IPCError(
            code: .invalidArgument, operation: "inherit", object: object.description,
            reason: "the parent handed a \(object.kind.noun) (\(object)), already opened as a"
              + " \(type(of: existing)), not a \(T.self)")
        }
        result = same
        return
      }
      let made = try T.inherit(object)
      adopted[name] = made
      result = made
    }
    guard let result else {
      throw IPCError(code: .badDescriptor, operation: "inherit", object: object.description)
    }
    return result
  }
}
