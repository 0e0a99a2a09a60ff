/// Bytes as hex for people (`ipc shm read --hex`) and hex from them (`ipc shm write --hex`).
enum HexDump {
  static let bytesPerLine = 16

  /// `hexdump -C`-style lines: offset, 16 bytes in hex, the printable ones as
  /// ASCII. A run of lines equal to the one before is shown as one `*`, so a
  /// mostly zero segment stays short; the last line gives the end offset.
  static func lines(_ bytes: [UInt8], startingAt start: Int) -> [String] {
    var stream = Stream(startingAt: start)
    return stream.lines(bytes) + [stream.end]
  }

  /// The same lines for bytes that come in pieces (a large object read a
  /// chunk at a time), so `*` runs go on across pieces. Pieces other than the
  /// last must be whole lines (multiples of 16 bytes).
  struct Stream {
    private var position: Int
    private var previous: [UInt8]?
    private var skipping = false

    init(startingAt start: Int) { position = start }

    /// The lines for the next piece.
    mutating func lines(_ bytes: [UInt8]) -> [String] {
      var lines: [String] = []
      for lineStart in stride(from: 0, to: bytes.count, by: bytesPerLine) {
        let chunk = bytes[lineStart..<min(lineStart + bytesPerLine, bytes.count)]
        defer { position += chunk.count }
        if chunk.count == bytesPerLine, let previous, previous.elementsEqual(chunk) {
          if !skipping { lines.append("*") }
          skipping = true
          continue
        }
        skipping = false
        previous = Array(chunk)
        let hex = chunk.map(byte).joined(separator: " ")
        let padding = String(repeating: " ", count: (bytesPerLine - chunk.count) * 3)
        let text = String(
          decoding: chunk.map { (0x20..<0x7f).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
        lines.append("\(offset(position))  \(hex)\(padding)  |\(text)|")
      }
      return lines
    }

    /// The last line: the offset just past the bytes.
    var end: String { offset(position) }
  }

  /// `de ad be ef` or `deadbeef` as bytes; nil unless every byte has two hex digits.
  static func parse(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    for index in stride(from: 0, to: digits.count, by: 2) {
      guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
    }
    return bytes
  }

  private static func value(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  private static func byte(_ value: UInt8) -> String {
    let text = String(value, radix: 16)
    return value < 16 ? "0" + text : text
  }

  private static func offset(_ value: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(8 - text.count, 0)) + text
  }
}
