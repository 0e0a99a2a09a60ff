import Glibc

/// Why `posix_spawn` could not start a child.
public struct SpawnError: Error, CustomStringConvertible {
  /// The error number `posix_spawn` returned.
  public var code: Int32

  /// The C library's explanation.
  public var description: String { String(cString: strerror(code)) }
}
