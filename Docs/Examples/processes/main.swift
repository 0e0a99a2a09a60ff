import Glibc
import IPC

// The examples of Docs/Processes.md, as one program (filled in with the guide).
EntryPoints([:]).runIfChild()
