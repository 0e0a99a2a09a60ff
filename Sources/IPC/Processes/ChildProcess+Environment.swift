import Glibc

extension ChildProcess {
  /// The environment variables a child starts with.
  ///
  ///     .inherit                                          // this process's, as they are
  ///     .inherit(updating: ["LANG": "C"], removing: ["TERM"])
  ///     .replace(with: ["PATH": "/usr/bin:/bin"])         // only these
  public struct Environment: Hashable, Sendable {
    /// Whether the child starts from this process's variables or from none.
    let inheritsCurrent: Bool
    /// Variables to set, over the inherited ones.
    let updates: [String: String]
    /// Variables to leave out of the inherited ones.
    let removals: Set<String>

    /// This process's variables, unchanged (the C global `environ`).
    public static let inherit = Environment(inheritsCurrent: true, updates: [:], removals: [])

    /// This process's variables, with `updating` set (added or replaced) and
    /// `removing` left out.
    public static func inherit(updating: [String: String] = [:], removing: [String] = []) -> Environment {
      Environment(inheritsCurrent: true, updates: updating, removals: Set(removing))
    }

    /// Exactly `variables`, nothing inherited.
    public static func replace(with variables: [String: String]) -> Environment {
      Environment(inheritsCurrent: false, updates: variables, removals: [])
    }

    /// The `NAME=value` entries for the child, as bytes without their zero
    /// terminator, with `extra` set on top; nil when it is this process's
    /// environment unchanged (passed as it is). Inherited entries are copied
    /// byte for byte: a value need not be UTF-8.
    ///
    /// - Throws: `.invalidArgument` for a name that is empty or holds `=` or
    ///   a zero byte, or a value that holds a zero byte: C strings cannot
    ///   carry them, and they would be cut short silently.
    func entries(adding extra: [String: String] = [:]) throws(IPCError) -> [[UInt8]]? {
      for (name, value) in updates {
        guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "=")), !name.utf8.contains(0) else {
          throw IPCError(
            code: .invalidArgument, operation: "posix_spawn", object: "environment",
            reason: "'\(name.replacingZeroBytes())' is not a variable name: it must be non-empty, without '='"
              + " or zero bytes")
        }
        guard !value.utf8.contains(0) else {
          throw IPCError(
            code: .invalidArgument, operation: "posix_spawn", object: "environment",
            reason: "the value of \(name) holds a zero byte, which a C string cannot carry")
        }
      }
      // This process's own environment, untouched, needs no copy.
      if inheritsCurrent && updates.isEmpty && extra.isEmpty && removals.allSatisfy({ getenv($0) == nil }) {
        return nil
      }
      let replaced = updates.merging(extra) { $1 }
      let leftOut = Set(replaced.keys.map { Array($0.utf8) }).union(removals.map { Array($0.utf8) })
      var result: [[UInt8]] = []
      if inheritsCurrent {
        var entry = environ
        while let pointer = entry.pointee {
          let bytes = Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
          let name = Array(bytes.prefix { $0 != UInt8(ascii: "=") })
          if !leftOut.contains(name) { result.append(bytes) }
          entry += 1
        }
      }
      for (name, value) in replaced.sorted(by: { $0.key < $1.key }) {
        result.append(Array("\(name)=\(value)".utf8))
      }
      return result
    }

    /// The same environment, with `names` left out of what it inherits.
    func removing(_ names: Set<String>) -> Environment {
      Environment(inheritsCurrent: inheritsCurrent, updates: updates, removals: removals.union(names))
    }

    /// The value of `name` the child will see.
    func value(of name: String) -> String? {
      if let value = updates[name] { return value }
      guard inheritsCurrent, !removals.contains(name) else { return nil }
      return getenv(name).map { String(cString: $0) }
    }
  }
}
