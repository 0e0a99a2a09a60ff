import CIPCShims

/// Where a Unix-domain socket lives: a filesystem path, or a Linux abstract
/// name, which has no file and vanishes with the last socket bound to it.
///
///     let server = try UnixSocketAddress.path("/run/user/1000/jobs.sock")
///     let hidden = try UnixSocketAddress.abstract("jobs")   // "@jobs"
///     let either = try UnixSocketAddress(parsing: "@jobs")
///
/// The kernel keeps the name in `sockaddr_un`'s `sun_path`, 108 bytes on
/// Linux: a path takes at most 107 bytes and its terminating NUL, an abstract
/// name at most 107 bytes after its leading NUL. Both limits, and a NUL byte
/// inside the name, are checked here, before any system call.
public struct UnixSocketAddress: Sendable, Hashable, CustomStringConvertible {
  /// The size of `sun_path`: 108 bytes on Linux.
  public static let sunPathSize = Int(CIPC_SUN_PATH_SIZE)
  /// The longest path or abstract name, in UTF-8 bytes: 107.
  public static let maxNameLength = sunPathSize - 1

  /// The path, or the abstract name without its `@`.
  public let name: String
  /// Whether this is an abstract name (no file; shown as `@name`).
  public let isAbstract: Bool

  private init(name: String, isAbstract: Bool) {
    self.name = name
    self.isAbstract = isAbstract
  }

  /// A filesystem path, such as `/tmp/jobs.sock`; relative paths are
  /// relative to the working directory at bind or connect time. A path that
  /// starts with `@` is kept as `./@...`, the same file, so that it never
  /// reads as an abstract name: `path("@x")` prints as `./@x`.
  ///
  /// - Throws: `.invalidArgument` for an empty path, one with a NUL byte, or
  ///   one longer than 107 bytes (the error names the 108-byte `sun_path`).
  public static func path(_ path: String) throws(IPCError) -> UnixSocketAddress {
    let name = relativeAt(path)
    try check(name, isAbstract: false)
    return UnixSocketAddress(name: name, isAbstract: false)
  }

  /// A Linux abstract name, such as `jobs` (shown as `@jobs`): no file is
  /// made, and the name is free again once no socket is bound to it.
  ///
  /// - Throws: `.invalidArgument` for an empty name, one with a NUL byte, or
  ///   one longer than 107 bytes.
  public static func abstract(_ name: String) throws(IPCError) -> UnixSocketAddress {
    try check(name, isAbstract: true)
    return UnixSocketAddress(name: name, isAbstract: true)
  }

  /// Parses `@NAME` as an abstract name and anything else as a path.
  ///
  /// - Throws: what ``path(_:)`` or ``abstract(_:)`` throws.
  public init(parsing text: String) throws(IPCError) {
    if text.hasPrefix("@") {
      self = try .abstract(String(text.dropFirst()))
    } else {
      self = try .path(text)
    }
  }

  /// The path, or `@name` for an abstract name; ``init(parsing:)`` reads it
  /// back as the same address (a path never starts with `@`).
  public var description: String { isAbstract ? "@\(name)" : name }

  /// The filesystem path, or nil for an abstract name.
  public var path: String? { isAbstract ? nil : name }

  /// An address as the kernel reported it (accept, recvfrom); nil for an
  /// unnamed socket. Not checked: the kernel made it.
  init?(reportedName bytes: UnsafeRawBufferPointer, isAbstract: Bool) {
    guard !bytes.isEmpty else { return nil }
    let name = String(decoding: bytes, as: UTF8.self)
    self.init(name: isAbstract ? name : Self.relativeAt(name), isAbstract: isAbstract)
  }

  /// `path`, or `./path` if it starts with `@` (the same file).
  private static func relativeAt(_ path: String) -> String {
    path.hasPrefix("@") ? "./" + path : path
  }

  private static func check(_ name: String, isAbstract: Bool) throws(IPCError) {
    let what = isAbstract ? "abstract socket name" : "socket path"
    let shown = isAbstract ? "@\(name)" : name
    guard !name.isEmpty else {
      throw IPCError(
        code: .invalidArgument, operation: "sockaddr_un", object: shown,
        reason: "the \(what) is empty")
    }
    guard !name.utf8.contains(0) else {
      throw IPCError(
        code: .invalidArgument, operation: "sockaddr_un", object: shown,
        reason: "the \(what) contains a NUL byte, which cannot be part of a Unix socket name"
          + " this library makes")
    }
    let count = name.utf8.count
    guard count <= maxNameLength else {
      let end = isAbstract ? "its leading NUL" : "its terminating NUL"
      throw IPCError(
        code: .invalidArgument, operation: "sockaddr_un", object: shown,
        reason: "the \(what) is \(count) bytes long; sockaddr_un's sun_path holds"
          + " \(sunPathSize) bytes, so at most \(maxNameLength) plus \(end)"
          + (isAbstract ? "" : "; use a shorter path (a relative one, or a shorter directory)"))
    }
  }

  /// Calls `body` with the name's bytes (no NUL) and whether it is abstract.
  func withName<R>(_ body: (UnsafePointer<CChar>, Int, Bool) -> R) -> R {
    name.withCString { body($0, name.utf8.count, isAbstract) }
  }
}
