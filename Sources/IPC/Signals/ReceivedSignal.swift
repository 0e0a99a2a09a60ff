import CIPCShims
import Glibc

/// One signal taken from a ``SignalReceiver``: which signal, who sent it,
/// how, and the value it carried.
///
///     let received = try receiver.wait()
///     print(received.signal, received.value ?? 0, received.senderPID)
public struct ReceivedSignal: Sendable, Hashable, CustomStringConvertible {
  /// The signal.
  public let signal: UnixSignal
  /// How it was sent: ``Code-swift.struct/user`` (`kill`),
  /// ``Code-swift.struct/queue`` (`sigqueue`), ``Code-swift.struct/kernel``...
  public let code: Code
  /// The sender's process id; 0 when the kernel sent it.
  public let senderPID: pid_t
  /// The sender's real user id; 0 when the kernel sent it.
  public let senderUID: uid_t
  /// The value sent with `sigqueue` (also a timer's or a queue
  /// notification's); nil for a signal sent without one.
  public let value: Int32?

  /// Creates a received signal from its parts.
  public init(signal: UnixSignal, code: Code, senderPID: pid_t, senderUID: uid_t, value: Int32?) {
    self.signal = signal
    self.code = code
    self.senderPID = senderPID
    self.senderUID = senderUID
    self.value = value
  }

  /// What `signalfd` read: the fields of `struct signalfd_siginfo`.
  init(_ info: signalfd_siginfo) {
    signal = UnixSignal(unchecked: Int32(bitPattern: info.ssi_signo))
    code = Code(rawValue: info.ssi_code)
    senderPID = pid_t(bitPattern: info.ssi_pid)
    senderUID = info.ssi_uid
    value = code.carriesValue ? info.ssi_int : nil
  }

  /// `SIGUSR1 value 42 from pid 1234 uid 1000 (sigqueue)`.
  public var description: String {
    var text = signal.name
    if let value { text += " value \(value)" }
    return text + " from pid \(senderPID) uid \(senderUID) (\(code))"
  }
}
