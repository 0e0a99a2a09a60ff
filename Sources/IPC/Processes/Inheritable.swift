/// A kernel object that can be handed to a child process and rebuilt there
/// as the same type.
///
/// The library's objects conform: System V queues, semaphore sets, locks and
/// segments travel by id; POSIX queues, semaphores and shared memory by
/// name; named pipes by path; pipe ends as descriptors the child inherits.
///
///     // The parent:
///     let child = try ChildProcess.start(entryPoint: "worker", handing: ["jobs": queue])
///     // The child, in the "worker" entry point:
///     let jobs = try context.open("jobs", as: SystemV.MessageQueue.self)
///
/// A type of your own conforms by forwarding to an object it wraps:
///
///     struct Jobs: Inheritable {
///       var queue: SystemV.MessageQueue
///       func inheritance() throws(IPCError) -> Inheritance { try queue.inheritance() }
///       static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Jobs {
///         Jobs(queue: try .inherit(inheritance))
///       }
///     }
public protocol Inheritable {
  /// What a child needs to get this object back: its kind and its id, name
  /// or descriptor.
  ///
  /// - Throws: `.badDescriptor` for a descriptor-owning object that was closed.
  func inheritance() throws(IPCError) -> Inheritance

  /// Rebuilds the object in the child from what the parent handed over.
  /// Called once per handed object: an object that owns a descriptor takes
  /// ownership of the inherited one.
  ///
  /// - Throws: `.invalidArgument` if `inheritance` is another kind of object
  ///   (the error names both kinds), and the errors of opening it.
  static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Self
}
