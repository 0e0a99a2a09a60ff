/// POSIX IPC: message queues, semaphores and shared memory, named by a
/// path-like name such as `/orders`.
///
/// The objects outlive the processes that make them: creating, opening and
/// unlinking are separate, explicit acts. Where the mqueue filesystem is
/// mounted (`mount -t mqueue none /dev/mqueue`), `ls /dev/mqueue` lists them.
public enum POSIX {}
