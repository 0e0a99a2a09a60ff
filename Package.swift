// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "IPC",
  products: [
    .library(name: "IPC", targets: ["IPC"]),
    .executable(name: "ipc", targets: ["ipc"]),
  ],
  targets: [
    // Only what Swift cannot call directly; _GNU_SOURCE exposes MSG_EXCEPT, MSG_COPY, semtimedop.
    .target(
      name: "CIPCShims",
      path: "CShims",
      cSettings: [.define("_GNU_SOURCE")]
    ),
    .target(name: "IPC", dependencies: ["CIPCShims"], path: "Sources/IPC"),
    .executableTarget(name: "ipc", dependencies: ["IPC"], path: "Sources/ipc"),
    .testTarget(
      name: "IPCTests",
      dependencies: ["IPC", "ipc"],
      path: "Tests/IPCTests"
    ),
  ],
  swiftLanguageModes: [.v6]
)
