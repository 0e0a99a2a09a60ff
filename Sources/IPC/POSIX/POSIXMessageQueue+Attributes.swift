extension POSIX.MessageQueue {
  /// A queue's size limits, fixed when it was created, and how many messages
  /// it holds now (`struct mq_attr`).
  public struct Attributes: Hashable, Sendable {
    /// The most messages the queue holds (`mq_maxmsg`); a send waits beyond it.
    public var maxMessages: Int
    /// The largest message, in bytes (`mq_msgsize`).
    public var messageSize: Int
    /// Messages in the queue now (`mq_curmsgs`).
    public var currentMessages: Int

    /// Creates attributes from their parts.
    public init(maxMessages: Int, messageSize: Int, currentMessages: Int = 0) {
      self.maxMessages = maxMessages
      self.messageSize = messageSize
      self.currentMessages = currentMessages
    }
  }
}
