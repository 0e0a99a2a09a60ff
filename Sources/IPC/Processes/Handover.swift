/// How a child started for an entry point learns what to run and what it was
/// handed: three environment variables, read and removed by
/// ``EntryPoints/runIfChild()`` before the entry point runs, so the child's
/// own children never see them.
enum Handover {
  /// The entry point's name.
  static let entryPointVariable = "IPC_CHILD_ENTRY_POINT"
  /// The handed objects: `name=kind,number,detail,path;...`, each name and
  /// path percent-encoded.
  static let objectsVariable = "IPC_CHILD_HANDOVER"
  /// The child's descriptor of its lifeline socket (``Lifeline``).
  static let lifelineVariable = "IPC_CHILD_LIFELINE"

  static let variables = [entryPointVariable, objectsVariable, lifelineVariable]

  /// The most bytes of handover text: the kernel refuses a single environment
  /// string above 128 KiB (MAX_ARG_STRLEN), so the error is given here instead.
  static let maxEncodedLength = 100 * 1024

  static func encode(_ objects: [(name: String, inheritance: Inheritance)]) -> String {
    objects.map { name, object in
      "\(percentEncoded(name))=\(object.kind.rawValue),\(object.number),\(object.detail),"
        + percentEncoded(object.name)
    }.joined(separator: ";")
  }

  /// The objects in `text`, or nil if it is not what ``encode(_:)`` writes.
  static func decode(_ text: String) -> [(name: String, inheritance: Inheritance)]? {
    guard !text.isEmpty else { return [] }
    var objects: [(name: String, inheritance: Inheritance)] = []
    for entry in text.split(separator: ";", omittingEmptySubsequences: false) {
      let halves = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard halves.count == 2, let name = percentDecoded(halves[0]) else { return nil }
      let fields = halves[1].split(separator: ",", omittingEmptySubsequences: false)
      guard fields.count == 4, let kind = Inheritance.Kind(rawValue: String(fields[0])),
        let number = Int32(fields[1]), let detail = Int32(fields[2]), let path = percentDecoded(fields[3])
      else { return nil }
      objects.append((name, Inheritance(kind, number: number, detail: detail, name: path)))
    }
    return objects
  }

  /// Every byte but letters, digits and `/._-` as `%XX`, so names may hold `=`, `,` and `;`.
  static func percentEncoded(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "-"):
        result.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        let hex = String(byte, radix: 16, uppercase: true)
        result += "%" + (hex.count == 1 ? "0" : "") + hex
      }
    }
    return result
  }

  static func percentDecoded(_ text: Substring) -> String? {
    var bytes: [UInt8] = []
    var rest = text.utf8[...]
    while let byte = rest.popFirst() {
      guard byte == UInt8(ascii: "%") else {
        bytes.append(byte)
        continue
      }
      guard rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16)
      else { return nil }
      bytes.append(value)
      rest = rest.dropFirst(2)
    }
    return String(validating: bytes, as: UTF8.self)
  }
}
