import Glibc
import IPC

/// The bytes of message `index` of producer `id`: its id and index, then a
/// pattern of a length that varies with the index (up to `longest` bytes in
/// all), so a torn or misplaced message shows.
func channelMessage(id: UInt8, index: UInt32, longest: Int) -> [UInt8] {
  let length = 5 + Int(index &* 2_654_435_761 % UInt32(max(longest - 4, 1)))
  var bytes = [id]
  withUnsafeBytes(of: index.littleEndian) { bytes += $0 }
  for position in 5..<length { bytes.append(UInt8(truncatingIfNeeded: Int(index) &+ position)) }
  return bytes
}

/// arguments: SHM-NAME ID COUNT LONGEST. Sends COUNT messages through a
/// producer of the channel in SHM-NAME (COUNT 0: until killed), then closes.
func channelProduce(_ context: ChildContext) throws {
  let arguments = context.arguments
  guard arguments.count == 4, let id = UInt8(arguments[1]), let count = UInt32(arguments[2]),
    let longest = Int(arguments[3])
  else { exit(64) }
  let region = try POSIX.SharedMemory.open(arguments[0]).map()
  let producer = try SharedChannelProducer(region)
  say("attached")
  var index: UInt32 = 0
  while count == 0 || index < count {
    try producer.send(channelMessage(id: id, index: index, longest: longest))
    index &+= 1
  }
  try producer.close()
}

/// arguments: SHM-NAME. Attaches as the consumer, says so, and sleeps until killed.
func channelIdleConsumer(_ context: ChildContext) throws {
  guard context.arguments.count == 1 else { exit(64) }
  let region = try POSIX.SharedMemory.open(context.arguments[0]).map()
  let consumer = try SharedChannelConsumer(region)
  say("attached")
  while true { sleep(60) }
  withExtendedLifetime(consumer) {}
}

/// arguments: SHM-NAME ID COUNT LONGEST. As channel-produce, but each message
/// is written in place through a loan, byte by byte (so a kill lands inside
/// the loan's body most of the time); COUNT 0: until killed.
func channelLoanProduce(_ context: ChildContext) throws {
  let arguments = context.arguments
  guard arguments.count == 4, let id = UInt8(arguments[1]), let count = UInt32(arguments[2]),
    let longest = Int(arguments[3])
  else { exit(64) }
  let region = try POSIX.SharedMemory.open(arguments[0]).map()
  let producer = try SharedChannelProducer(region)
  say("attached")
  var index: UInt32 = 0
  while count == 0 || index < count {
    let message = channelMessage(id: id, index: index, longest: longest)
    try producer.send(reservingUpTo: longest) { buffer in
      for (position, byte) in message.enumerated() { buffer[position] = byte }
      return message.count
    }
    index &+= 1
  }
  try producer.close()
}

/// arguments: SHM-NAME COUNT. Sends COUNT whole messages through loans, then
/// begins one more, writes half of it, says "filling" and sleeps inside the
/// loan's body until killed.
func channelLoanHang(_ context: ChildContext) throws {
  let arguments = context.arguments
  guard arguments.count == 2, let count = UInt32(arguments[1]) else { exit(64) }
  let region = try POSIX.SharedMemory.open(arguments[0]).map()
  let producer = try SharedChannelProducer(region)
  for index in 0..<count {
    let message = channelMessage(id: 1, index: index, longest: 200)
    try producer.send(reservingUpTo: 200) { buffer in
      buffer.copyBytes(from: message)
      return message.count
    }
  }
  try producer.send(reservingUpTo: 200) { buffer in
    let message = channelMessage(id: 1, index: count, longest: 200)
    buffer.copyBytes(from: message.prefix(message.count / 2))
    say("filling")
    while true { sleep(60) }
  }
}

/// arguments: SHM-NAME COUNT. Sends COUNT messages, says "sent", and lives
/// on, attached, until killed.
func channelProduceThenIdle(_ context: ChildContext) throws {
  let arguments = context.arguments
  guard arguments.count == 2, let count = UInt32(arguments[1]) else { exit(64) }
  let region = try POSIX.SharedMemory.open(arguments[0]).map()
  let producer = try SharedChannelProducer(region)
  for index in 0..<count { try producer.send(channelMessage(id: 1, index: index, longest: 100)) }
  say("sent")
  while true { sleep(60) }
  withExtendedLifetime(producer) {}
}

/// arguments: SHM-NAME COUNT LONGEST. Attaches as the consumer, says
/// "attached", and reads COUNT messages of producer 1 in place, slowly at
/// first (so the producer finds the ring full); exits 0 if each is whole
/// and in order, 1 if not.
func channelConsume(_ context: ChildContext) throws {
  let arguments = context.arguments
  guard arguments.count == 3, let count = UInt32(arguments[1]), let longest = Int(arguments[2]) else {
    exit(64)
  }
  let region = try POSIX.SharedMemory.open(arguments[0]).map()
  let consumer = try SharedChannelConsumer(region)
  say("attached")
  usleep(100_000)
  for index in 0..<count {
    let expected = channelMessage(id: 1, index: index, longest: longest)
    guard try consumer.receive({ bytes in bytes.elementsEqual(expected) }) == true else {
      say("message \(index) is wrong")
      exit(1)
    }
    if index < 50 { usleep(1000) }
  }
  say("ok")
  try consumer.close()
}
