/// What can travel inside a message on a Unix socket (`SCM_RIGHTS`): the
/// receiver gets its own descriptor of the same open file, rebuilt as the
/// same library type with ``ReceivedDescriptor/take(as:)``.
///
/// The library's conformers are ``PipeEnd``, ``POSIX/MessageQueue``,
/// ``POSIX/SharedMemory``, ``UnixConnection``, ``UnixDatagramSocket`` and
/// ``ReceivedDescriptor`` (to pass on a descriptor as it came).
///
///     try connection.send(Array("your pipe".utf8), passing: [reader])
///     // The peer:
///     let message = try connection.receiveWithDescriptors()
///     let pipe = try message?.descriptors.first?.take(as: PipeEnd.self)
public protocol DescriptorPassable {
  /// The descriptor to send; the sender keeps it (the kernel duplicates it).
  ///
  /// - Throws: `.badDescriptor` if the object was closed.
  var passableDescriptor: Int32 { get throws(IPCError) }

  /// Rebuilds the object from a descriptor that arrived in a message, taking
  /// ownership of it.
  ///
  /// - Throws: `.invalidArgument` if the descriptor is of another kind (the
  ///   error names both); the descriptor then stays with `descriptor`.
  static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> Self
}
