import IPC

/// A typed message the suites send across processes, through every kind of queue.
struct OrderPlaced: TypedMessage, Equatable {
  static let messageType = 11
  var orderID: Int
  var item: String
}

/// A second typed message, to prove routing by type.
struct OrderCancelled: TypedMessage, Equatable {
  static let messageType = 12
  var orderID: Int
}

/// A Codable value the pipe suites send, within a process and between two.
struct Job: Codable, Equatable {
  var id: Int
  var command: String
}
