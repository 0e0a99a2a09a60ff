import IPC

/// Handed "in" and "out" pipe ends: takes `[String: [Int64?]]` messages in
/// the binary format until the end of the stream, and answers each with the
/// sum of each list (nil counting as 0), in the binary format too.
func binaryCoderEcho(_ context: ChildContext) throws {
  let input = try context.open("in", as: PipeEnd.self)
  let output = try context.open("out", as: PipeEnd.self)
  let coder = BinaryMessageCoder()
  while let lists = try input.receive([String: [Int64?]].self, coder: coder) {
    try output.send(lists.mapValues { $0.reduce(0) { $0 &+ ($1 ?? 0) } }, coder: coder)
  }
}

/// The plain value both ends of the bitwise coder's test know by this name.
struct Reading: Codable {
  var sensor: Int32
  var celsius: Double
}

/// Another type of the same size and alignment: the fingerprint tells them apart.
struct Imposter: Codable {
  var first: Int64
  var second: Int64
}

/// Handed "in" and "out" pipe ends: answers each `Reading` (bitwise coder)
/// with the same reading one degree warmer, then an `Imposter`, until the
/// end of the stream.
func bitwiseCoderEcho(_ context: ChildContext) throws {
  let input = try context.open("in", as: PipeEnd.self)
  let output = try context.open("out", as: PipeEnd.self)
  let coder = BitwiseMessageCoder()
  while var reading = try input.receive(Reading.self, coder: coder) {
    reading.celsius += 1
    try output.send(reading, coder: coder)
    try output.send(Imposter(first: 1, second: 2), coder: coder)
  }
}
