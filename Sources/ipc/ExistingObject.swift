import Glibc
import IPC

/// `--open-existing` opens the object as it is: an option that describes its
/// shape (size, count, limits, mode) must match what the object has, or the
/// command fails saying which option differs and what the object has.
struct ExistingObject {
  /// How the failure names the object, such as "the queue for key 0x12".
  var what: String

  /// Fails unless `given` (if the user gave it) is `actual`.
  func check<Value: Equatable>(_ option: String, given: Value?, actual: Value, unit: String = "")
    throws(CommandFailure)
  {
    guard let given, given != actual else { return }
    throw CommandFailure(
      "\(option) \(given) does not match \(what), which has \(actual)\(unit);"
        + " --open-existing opens it only as it is")
  }

  /// Fails unless `--mode` (if given) is the object's permissions.
  func checkMode(_ given: Permissions?, actual: Permissions) throws(CommandFailure) {
    guard let given, given != actual else { return }
    throw CommandFailure(
      "--mode \(octal(given)) does not match \(what), which has mode \(octal(actual));"
        + " --open-existing opens it only as it is")
  }

  /// Fails unless `--mode` (if given) is the permissions of the file at `path`
  /// (POSIX objects are files in /dev/shm and /dev/mqueue).
  func checkMode(_ given: Permissions?, ofFileAt path: String) throws(CommandFailure) {
    guard let given else { return }
    var status = stat()
    guard stat(path, &status) == 0 else { return }  // gone meanwhile: nothing to compare
    try checkMode(given, actual: Permissions(rawValue: status.st_mode & 0o777))
  }

  private func octal(_ permissions: Permissions) -> String {
    "0" + String(permissions.rawValue, radix: 8)
  }
}
