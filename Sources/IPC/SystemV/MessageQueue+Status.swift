import Glibc

extension SystemV.MessageQueue {
  /// A snapshot of a queue's state, as `msgctl(IPC_STAT)` reports it.
  public struct Status: Hashable, Sendable, SystemV.OwnedStatus {
    /// The key the queue was made with (``SystemV/Key/private`` if none).
    public var key: SystemV.Key
    /// The queue's owner, creator and access permissions (`msg_perm`).
    public var ownership: SystemV.Ownership
    /// How many messages the queue holds (`msg_qnum`).
    public var messageCount: Int
    /// How many bytes of message text the queue holds (`msg_cbytes`).
    public var byteCount: Int
    /// The most bytes of message text the queue may hold (`msg_qbytes`).
    public var maxBytes: Int
    /// The process that sent last, or nil if none has (`msg_lspid`).
    public var lastSenderPID: Int32?
    /// The process that received last, or nil if none has (`msg_lrpid`).
    public var lastReceiverPID: Int32?
    /// When the last message was sent, in seconds since the Unix epoch, or nil.
    public var lastSendTime: Int?
    /// When the last message was received, in seconds since the Unix epoch, or nil.
    public var lastReceiveTime: Int?
    /// When the queue was made or last changed by `IPC_SET`, in seconds since the epoch.
    public var lastChangeTime: Int

    init(_ info: msqid_ds) {
      key = SystemV.Key(rawValue: info.msg_perm.__key)
      ownership = SystemV.Ownership(info.msg_perm)
      messageCount = Int(info.msg_qnum)
      byteCount = Int(info.__msg_cbytes)
      maxBytes = Int(info.msg_qbytes)
      lastSenderPID = info.msg_lspid == 0 ? nil : info.msg_lspid
      lastReceiverPID = info.msg_lrpid == 0 ? nil : info.msg_lrpid
      lastSendTime = info.msg_stime == 0 ? nil : Int(info.msg_stime)
      lastReceiveTime = info.msg_rtime == 0 ? nil : Int(info.msg_rtime)
      lastChangeTime = Int(info.msg_ctime)
    }
  }
}
