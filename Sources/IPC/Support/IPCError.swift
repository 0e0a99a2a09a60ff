/// The one error every operation of the toolkit throws.
///
/// It names the failed system call (`operation`), the kernel object it was
/// called on (`object`), the `errno` value (`code`), and says in a sentence what
/// went wrong, including the limit that was hit where there is one:
///
///     msgsnd on queue 32768 failed: message of 9000 bytes exceeds msgmax 8192,
///     see /proc/sys/kernel/msgmax [EINVAL]
///
/// Nothing is lost on an error: a failed send leaves the queue as it was, and a
/// failed receive consumes nothing. The one exception is a message that was
/// received but could not be decoded; its bytes and type are kept in
/// ``payload`` (with ``messageType`` or ``priority``).
public struct IPCError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The `errno` value, or the closest one for errors found before the call.
  public var code: Code
  /// The system call or library operation that failed, such as `msgsnd`.
  public var operation: String
  /// The kernel object involved, such as `queue 32768` or `key 0x1234`.
  public var object: String
  /// A sentence that explains the failure, naming the limit hit where there is one.
  public var reason: String
  /// The bytes of a message that was received but could not be decoded.
  public var payload: [UInt8]?
  /// The type of the System V message in ``payload``.
  public var messageType: Int?
  /// The priority of the POSIX message in ``payload``.
  public var priority: Int?

  /// Creates an error from its parts.
  public init(
    code: Code,
    operation: String,
    object: String,
    reason: String? = nil,
    payload: [UInt8]? = nil,
    messageType: Int? = nil,
    priority: Int? = nil
  ) {
    self.code = code
    self.operation = operation
    self.object = object
    self.reason = reason ?? code.explanation
    self.payload = payload
    self.messageType = messageType
    self.priority = priority
  }

  /// A readable one-line summary: operation, object, reason and errno name.
  public var description: String {
    "\(operation) on \(object) failed: \(reason) [\(code.name)]"
  }
}
