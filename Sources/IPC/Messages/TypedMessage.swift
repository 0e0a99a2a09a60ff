/// A Codable value that carries its own message type, so a queue can route it:
/// `send(value)` tags the message with ``messageType`` and
/// `receive(OrderPlaced.self)` takes only messages of that type.
///
///     struct OrderPlaced: TypedMessage {
///       static let messageType = 1
///       var orderID: Int
///       var item: String
///     }
///
///     try queue.send(OrderPlaced(orderID: 7, item: "tea"))
///     let order = try queue.receive(OrderPlaced.self)
///
/// Payloads are JSON by default, as in the classic Python walk-through; pass
/// another ``MessageCoder`` to choose the format.
public protocol TypedMessage: Codable, Sendable {
  /// The System V message type of every value of this type: 1 or more.
  static var messageType: Int { get }
}
