/// Calls `body` with `bytes` as one contiguous buffer: in place for arrays,
/// slices and native strings' `utf8` views, from a copy for other sequences.
func withContiguousBytes<Bytes: Sequence<UInt8>, R>(
  _ bytes: Bytes, _ body: (UnsafeRawBufferPointer) throws(IPCError) -> R
) throws(IPCError) -> R {
  // Typed throws do not cross withContiguousStorageIfAvailable, so carry a Result.
  let direct: Result<R, IPCError>? = bytes.withContiguousStorageIfAvailable { storage in
    Result { () throws(IPCError) in try body(UnsafeRawBufferPointer(storage)) }
  }
  if let direct { return try direct.get() }
  let copy = Array(bytes)
  return try copy.withUnsafeBytes { (buffer) -> Result<R, IPCError> in
    Result { () throws(IPCError) in try body(buffer) }
  }.get()
}
