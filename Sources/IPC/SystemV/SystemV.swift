/// System V IPC: message queues, semaphore sets and shared memory segments,
/// named by a numeric ``Key`` and, once made, by a kernel id.
///
/// The objects outlive the processes that make them: creating, opening and
/// removing are separate, explicit acts, and `ipcs` lists what exists.
public enum SystemV {}
