import Glibc
import Synchronization

/// A descriptor owned by one socket object (listener, connection, datagram
/// socket, received descriptor): closed in `deinit` unless closed or taken
/// before. Kept apart so that the four owners share one way to close.
final class OwnedDescriptor: Sendable {
  /// The descriptor; -1 once closed or taken.
  private let value: Atomic<Int32>

  init(_ fd: Int32) { value = Atomic(fd) }

  deinit {
    let fd = value.exchange(-1, ordering: .acquiringAndReleasing)
    if fd >= 0 { _ = Glibc.close(fd) }
  }

  /// The descriptor, or -1.
  var current: Int32 { value.load(ordering: .acquiring) }

  /// `fd 5`, or `closed`.
  var state: String {
    let fd = current
    return fd < 0 ? "closed" : "fd \(fd)"
  }

  /// The descriptor, or `.badDescriptor` naming `object` once it is closed.
  func live(_ operation: String, object: @autoclosure () -> String, reason: @autoclosure () -> String)
    throws(IPCError) -> Int32
  {
    let fd = current
    guard fd >= 0 else {
      throw IPCError(code: .badDescriptor, operation: operation, object: object(), reason: reason())
    }
    return fd
  }

  /// Hands the descriptor over; -1 if it was closed or taken.
  func take() -> Int32 { value.exchange(-1, ordering: .acquiringAndReleasing) }

  /// Closes the descriptor once; async waits on it are woken (poll does not
  /// return when another thread closes its descriptor). A socket file it
  /// bound is removed first, and only if the path still names that file:
  /// once the descriptor is closed, a new server may bind the path.
  func close(removing address: UnixSocketAddress? = nil, boundFile: FileIdentity? = nil) {
    let fd = take()
    guard fd >= 0 else { return }
    DescriptorWaiter.existing?.resumeAll(waitingOn: fd)
    if let address { UnixSocketSupport.unlinkBound(address, identity: boundFile) }
    _ = Glibc.close(fd)
  }
}
