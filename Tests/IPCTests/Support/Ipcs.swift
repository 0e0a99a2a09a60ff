import Glibc
import IPC

// What util-linux's `ipcs` shows of an object, to check the library against it.

/// The key `ipcs -s` lists for set `id`, read from its key column.
func ipcsKey(ofSet id: Int32) throws -> SystemV.Key? {
  let listed = try SpawnedProcess.run("/usr/bin/env", ["ipcs", "-s"])
  for line in listed.standardOutput.split(separator: "\n") {
    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    if fields.count >= 2 && fields[1] == "\(id)" { return SystemV.Key(parsing: String(fields[0])) }
  }
  return nil
}

/// The values `ipcs -s -i ID` shows for set `id`, one per row of its table.
func ipcsValues(ofSet id: Int32) throws -> (values: [Int], text: String) {
  let shown = try SpawnedProcess.run("/usr/bin/env", ["ipcs", "-s", "-i", "\(id)"])
  let rows = shown.standardOutput.split(separator: "\n").drop { !$0.hasPrefix("semnum") }.dropFirst()
  let values = rows.compactMap { row in
    row.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
  }
  return (values, shown.standardOutput)
}

/// The text of `ipcs -m -i ID`: "bytes=5000", "mode=0640", "nattch=1", ...
func ipcsDetails(ofSegment id: Int32) throws -> String {
  try SpawnedProcess.run("/usr/bin/env", ["ipcs", "-m", "-i", "\(id)"]).standardOutput
}

/// The columns of segment `id`'s line in `ipcs -m`: key, shmid, owner,
/// perms, bytes, nattch and, once marked for removal, "dest".
func ipcsColumns(ofSegment id: Int32) throws -> [String] {
  try ipcsLine(segment: id).map { $0.split(separator: " ").map(String.init) } ?? []
}

/// The whole text of a /proc file such as /proc/sysvipc/sem, read line by line
/// to its end: String(contentsOfFile:) stops after the first read of a /proc
/// file, so with many objects (a full parallel run) later lines were missed.
func procText(_ path: String) throws -> String {
  guard let file = fopen(path, "r") else { throw SpawnFailure(message: "cannot read \(path)") }
  defer { fclose(file) }
  var text = ""
  var line: UnsafeMutablePointer<CChar>?
  var capacity = 0
  defer { free(line) }
  while getline(&line, &capacity, file) > 0, let line { text += String(cString: line) }
  return text
}
