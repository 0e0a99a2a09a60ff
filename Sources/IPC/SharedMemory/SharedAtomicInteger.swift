import CIPCShims

/// An integer type a ``SharedRegion`` operates on atomically: `Int32` and
/// `Int64`, whose C11 atomics are lock-free and so work between processes.
///
/// The requirements are the shim's C11 calls; they are public only because
/// protocol requirements must be, and take an address the region has checked.
public protocol SharedAtomicInteger: FixedWidthInteger, SignedInteger, BitwiseCopyable, Sendable {
  /// `atomic_load_explicit`.
  static func _atomicLoad(_ address: UnsafeMutableRawPointer, _ order: Int32) -> Self
  /// `atomic_store_explicit`.
  static func _atomicStore(_ address: UnsafeMutableRawPointer, _ value: Self, _ order: Int32)
  /// `atomic_fetch_add_explicit`: wrapping; returns the value before.
  static func _atomicAdd(_ address: UnsafeMutableRawPointer, _ value: Self, _ order: Int32) -> Self
  /// `atomic_exchange_explicit`: returns the value before.
  static func _atomicExchange(_ address: UnsafeMutableRawPointer, _ value: Self, _ order: Int32) -> Self
  /// `atomic_compare_exchange_strong_explicit`: `expected` receives the value found.
  static func _atomicCompareExchange(
    _ address: UnsafeMutableRawPointer, _ expected: inout Self, _ desired: Self,
    _ success: Int32, _ failure: Int32
  ) -> Bool
}

extension Int32: SharedAtomicInteger {
  /// `atomic_load_explicit` on an `_Atomic int32_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicLoad(_ address: UnsafeMutableRawPointer, _ order: Int32) -> Int32 {
    cipc_atomic_load_32(address.assumingMemoryBound(to: Int32.self), order)
  }
  /// `atomic_store_explicit` on an `_Atomic int32_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicStore(_ address: UnsafeMutableRawPointer, _ value: Int32, _ order: Int32) {
    cipc_atomic_store_32(address.assumingMemoryBound(to: Int32.self), value, order)
  }
  /// `atomic_fetch_add_explicit` on an `_Atomic int32_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicAdd(_ address: UnsafeMutableRawPointer, _ value: Int32, _ order: Int32) -> Int32 {
    cipc_atomic_fetch_add_32(address.assumingMemoryBound(to: Int32.self), value, order)
  }
  /// `atomic_exchange_explicit` on an `_Atomic int32_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicExchange(_ address: UnsafeMutableRawPointer, _ value: Int32, _ order: Int32)
    -> Int32
  {
    cipc_atomic_exchange_32(address.assumingMemoryBound(to: Int32.self), value, order)
  }
  /// `atomic_compare_exchange_strong_explicit` on an `_Atomic int32_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicCompareExchange(
    _ address: UnsafeMutableRawPointer, _ expected: inout Int32, _ desired: Int32,
    _ success: Int32, _ failure: Int32
  ) -> Bool {
    cipc_atomic_compare_exchange_32(
      address.assumingMemoryBound(to: Int32.self), &expected, desired, success, failure)
  }
}

extension Int64: SharedAtomicInteger {
  /// `atomic_load_explicit` on an `_Atomic int64_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicLoad(_ address: UnsafeMutableRawPointer, _ order: Int32) -> Int64 {
    cipc_atomic_load_64(address.assumingMemoryBound(to: Int64.self), order)
  }
  /// `atomic_store_explicit` on an `_Atomic int64_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicStore(_ address: UnsafeMutableRawPointer, _ value: Int64, _ order: Int32) {
    cipc_atomic_store_64(address.assumingMemoryBound(to: Int64.self), value, order)
  }
  /// `atomic_fetch_add_explicit` on an `_Atomic int64_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicAdd(_ address: UnsafeMutableRawPointer, _ value: Int64, _ order: Int32) -> Int64 {
    cipc_atomic_fetch_add_64(address.assumingMemoryBound(to: Int64.self), value, order)
  }
  /// `atomic_exchange_explicit` on an `_Atomic int64_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicExchange(_ address: UnsafeMutableRawPointer, _ value: Int64, _ order: Int32)
    -> Int64
  {
    cipc_atomic_exchange_64(address.assumingMemoryBound(to: Int64.self), value, order)
  }
  /// `atomic_compare_exchange_strong_explicit` on an `_Atomic int64_t` (through the shim); for the region only.
  @inlinable @inline(__always)
  public static func _atomicCompareExchange(
    _ address: UnsafeMutableRawPointer, _ expected: inout Int64, _ desired: Int64,
    _ success: Int32, _ failure: Int32
  ) -> Bool {
    cipc_atomic_compare_exchange_64(
      address.assumingMemoryBound(to: Int64.self), &expected, desired, success, failure)
  }
}
