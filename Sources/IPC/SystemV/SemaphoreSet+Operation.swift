import Glibc

extension SystemV.SemaphoreSet {
  /// One step of an atomic batch for ``SystemV/SemaphoreSet/perform(_:)-5idfg``: a P
  /// (``wait(_:by:undo:)``), a V (``signal(_:by:undo:)``) or a wait for zero
  /// on one semaphore of the set. It mirrors C's `struct sembuf`.
  ///
  ///     // Take one from semaphore 0 and give one to semaphore 1, atomically.
  ///     try set.perform([.wait(0), .signal(1)])
  public struct Operation: Hashable, Sendable, CustomStringConvertible {
    /// The semaphore's index in the set (`sem_num`), from 0.
    public var index: Int
    /// The change to its value (`sem_op`): negative for P, positive for V, 0
    /// to wait until the value is zero.
    public var delta: Int
    /// Whether the kernel undoes the change when the process exits (`SEM_UNDO`).
    public var undo: Bool
    /// Why ``SystemV/SemaphoreSet/perform(_:)-5idfg`` refuses it, for a P or
    /// V made with an amount below 1 (which would be a wait for zero or the
    /// opposite act): nil for a valid one.
    var rejection: String? = nil

    /// Creates an operation from its parts; prefer ``wait(_:by:undo:)``,
    /// ``signal(_:by:undo:)`` and ``waitForZero(_:)``.
    public init(index: Int, delta: Int, undo: Bool = false) {
      self.index = index
      self.delta = delta
      self.undo = undo
    }

    /// P: waits until semaphore `index` is at least `amount`, then takes `amount` from it.
    ///
    /// `amount` is 1 to 32767 (SEMVMX); `perform` refuses the operation otherwise.
    public static func wait(_ index: Int, by amount: Int = 1, undo: Bool = false) -> Operation {
      // Wrapping: the negation of any amount is safe, and one below 1 is refused by perform(_:).
      var operation = Operation(index: index, delta: 0 &- amount, undo: undo)
      operation.rejection = SystemV.SemaphoreSet.amountProblem(amount, of: "P (wait)", index: index)
      return operation
    }

    /// V: adds `amount` to semaphore `index`, waking processes that wait for it.
    ///
    /// `amount` is 1 to 32767 (SEMVMX); `perform` refuses the operation otherwise.
    public static func signal(_ index: Int, by amount: Int = 1, undo: Bool = false) -> Operation {
      var operation = Operation(index: index, delta: amount, undo: undo)
      operation.rejection = SystemV.SemaphoreSet.amountProblem(amount, of: "V (signal)", index: index)
      return operation
    }

    /// Waits until semaphore `index` is zero; changes nothing.
    public static func waitForZero(_ index: Int) -> Operation {
      Operation(index: index, delta: 0)
    }

    /// `INDEX:DELTA`, the delta signed: `0:-1`, `1:+2`, `2:0`; ` undo` follows when set.
    public var description: String {
      "\(index):\(delta > 0 ? "+" : "")\(delta)\(undo ? " undo" : "")"
    }
  }
}
