#ifndef CIPCBENCH_H
#define CIPCBENCH_H

// Baseline loops for ipc-bench, written in plain C against the raw system
// calls, so that the Swift layer and C are measured on the same machine, in
// the same process setup, in one run. Each returns 0, or -errno on failure.

#include <semaphore.h>
#include <stddef.h>
#include <sys/types.h>

/// Pins the calling process to one CPU (sched_setaffinity).
int cipcb_pin_to_cpu(int cpu);

/// Number of CPUs this process may run on.
int cipcb_cpu_count(void);

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC).
long long cipcb_now_ns(void);

/// Ping side of a System V round trip: `rounds` times, send `size` bytes as
/// type 1, then receive a type-2 reply.
int cipcb_sysv_ping(int queue, long rounds, size_t size);

/// Pong side: `rounds` times, receive a type-1 message and send it back as type 2.
int cipcb_sysv_pong(int queue, long rounds, size_t size);

/// Sends `count` messages of `size` bytes and type 1.
int cipcb_sysv_send(int queue, long count, size_t size);

/// Receives `count` messages of type 1 into one buffer of `size` bytes.
int cipcb_sysv_receive(int queue, long count, size_t size);

/// Opens (or with O_CREAT in `oflag`, creates) a POSIX message queue; with
/// O_CREAT and `maxmsg` > 0 it gets `maxmsg` messages of at most `msgsize`
/// bytes. Returns the descriptor (mqd_t is an int on Linux), or -errno.
int cipcb_mq_open(const char *name, int oflag, unsigned mode, long maxmsg, long msgsize);

/// Closes a POSIX message queue descriptor (mq_close).
int cipcb_mq_close(int queue);

/// Removes a POSIX message queue's name (mq_unlink).
int cipcb_mq_unlink(const char *name);

/// Ping side of a POSIX round trip over two queues: `rounds` times, mq_send
/// `size` bytes to `outbound` with priority 0, then mq_receive the reply from
/// `inbound` into a buffer of `msgsize` bytes (the queue's mq_msgsize).
int cipcb_mq_ping(int inbound, int outbound, long rounds, size_t size, size_t msgsize);

/// Pong side: `rounds` times, receive from `inbound` (buffer of `msgsize`
/// bytes) and send what came to `outbound`.
int cipcb_mq_pong(int inbound, int outbound, long rounds, size_t msgsize);

/// Sends `count` messages of `size` bytes, priority 0.
int cipcb_mq_send(int queue, long count, size_t size);

/// Receives `count` messages into one buffer of `msgsize` bytes.
int cipcb_mq_receive(int queue, long count, size_t msgsize);

// Semaphores carry no message: a round trip is one V and one P on each side.
// The parent signals semaphore "to child" and waits on "to parent"; the child
// waits on "to child" and signals "to parent".

/// Makes a private System V set of `count` semaphores, all 0, mode 0600
/// (semget with IPC_PRIVATE). Returns the set's id, or -errno.
int cipcb_semset_create(int count);

/// Removes a System V semaphore set (semctl IPC_RMID). 0 or -errno.
int cipcb_semset_remove(int set);

/// Ping side of a System V semaphore round trip: `rounds` times, V on
/// semaphore 0 then P on semaphore 1 (one semop each, sem_flg 0).
int cipcb_semset_ping(int set, long rounds);

/// Pong side: `rounds` times, P on semaphore 0 then V on semaphore 1.
int cipcb_semset_pong(int set, long rounds);

/// Makes a POSIX named semaphore with value 0, mode 0600, and closes it
/// (sem_open with O_CREAT | O_EXCL). 0 or -errno.
int cipcb_sem_create(const char *name);

/// Opens an existing POSIX named semaphore; NULL with errno set on failure.
sem_t *cipcb_sem_open(const char *name);

/// Closes a named semaphore of this process (sem_close). 0 or -errno.
int cipcb_sem_close(sem_t *semaphore);

/// Ping side of a POSIX semaphore round trip: `rounds` times, sem_post
/// `to_child`, then sem_wait `to_parent`.
int cipcb_sem_ping(sem_t *to_child, sem_t *to_parent, long rounds);

/// Pong side: `rounds` times, sem_wait `to_child`, then sem_post `to_parent`.
int cipcb_sem_pong(sem_t *to_child, sem_t *to_parent, long rounds);

// Byte streams (FIFO, pipe, socketpair): every message is exactly `size`
// bytes, moved with write()/read() loops that finish partial transfers. The
// peer closing its end before a whole message arrived is -EPIPE.

/// A pipe whose ends are close-on-exec: pipe2(O_CLOEXEC), which Swift's
/// Glibc module does not declare (it needs _GNU_SOURCE). 0 or -errno.
int cipcb_pipe(int fds[2]);

/// Ping side: `rounds` times, write `size` bytes to `writeFD`, read `size` back from `readFD`.
int cipcb_fd_ping(int readFD, int writeFD, long rounds, size_t size);

/// Pong side: `rounds` times, read `size` bytes from `readFD` and write them to `writeFD`.
int cipcb_fd_pong(int readFD, int writeFD, long rounds, size_t size);

/// Writes `count` messages of `size` bytes to `writeFD` (`readFD` is unused).
int cipcb_fd_send(int readFD, int writeFD, long count, size_t size);

/// Reads `count` messages of `size` bytes from `readFD` (`writeFD` is unused).
int cipcb_fd_receive(int readFD, int writeFD, long count, size_t size);

// Shared memory: a System V segment the child attaches by id. Blocks of
// `size` bytes go one way, from the child (producer) to the parent
// (consumer), through a ring of `slots` slots; block i goes to slot
// i % slots and carries i in its first 8 bytes, which the consumer checks
// (-EPROTO if wrong).

/// Attaches a System V segment read-write (shmat); NULL with errno set on failure.
void *cipcb_shm_attach(int segment);

/// Detaches a segment (shmdt). 0 or -errno.
int cipcb_shm_detach(void *address);

/// Marks a segment for removal (shmctl IPC_RMID). 0 or -errno.
int cipcb_shm_remove(int segment);

/// The semaphores of the "shm+sem" rows, in a set of two: free slots
/// (starts at `slots`) and filled slots (starts at 0).
#define CIPCB_SHMSEM_EMPTY 0
#define CIPCB_SHMSEM_FULL 1

/// Producer: `count` times, P(empty), copy a block into the next slot, V(full).
int cipcb_shmsem_send(void *base, int set, long count, size_t size, long slots);

/// Consumer: `count` times, P(full), copy the next slot out, V(empty).
int cipcb_shmsem_receive(void *base, int set, long count, size_t size, long slots);

/// The layout of the "shm ring" rows: the producer's count of blocks written
/// (int64_t, C11 atomic), the consumer's count of blocks read, each on a
/// cache line of its own, then the slots.
#define CIPCB_RING_HEAD 0
#define CIPCB_RING_TAIL 64
#define CIPCB_RING_SLOTS 128

/// Producer: `count` times, wait (sched_yield) while the ring is full, copy
/// a block into the next slot, publish the new count with a release store.
int cipcb_ring_send(void *base, long count, size_t size, long slots);

/// Consumer: `count` times, wait while the ring is empty (acquire loads of
/// the producer's count), copy the next slot out, publish the new count.
int cipcb_ring_receive(void *base, long count, size_t size, long slots);

// The baselines of the shm-channel round-trip rows (channel_baselines.c).

/// Ping side of a spin-ring round trip: `rounds` times, block i into the
/// one-way ring at `out` (the layout above), then block i back out of the
/// ring at `in`; each wait as in cipcb_ring_send/receive (sched_yield).
int cipcb_ring_ping(void *out, void *in, long rounds, size_t size, long slots);

/// Pong side: `rounds` times, block i out of `in`, then into `out`.
int cipcb_ring_pong(void *out, void *in, long rounds, size_t size, long slots);

/// Makes an unnamed POSIX semaphore of value 0 at `address` in shared
/// memory, shared between processes (sem_init with pshared 1). 0 or -errno.
int cipcb_sem_init_shared(void *address);

/// Spins (reading CLOCK_MONOTONIC) for `nanoseconds`, without a system call.
void cipcb_spin_ns(long long nanoseconds);

/// Ping side of the parked round trip: `rounds` times, sem_post `to_child`,
/// sem_wait `to_parent`, then spin `pause_ns` so the peer parks in sem_wait.
int cipcb_sem_ping_paused(sem_t *to_child, sem_t *to_parent, long rounds, long long pause_ns);

/// Pong side: `rounds` times, sem_wait `to_child`, spin `pause_ns`, sem_post `to_parent`.
int cipcb_sem_pong_paused(sem_t *to_child, sem_t *to_parent, long rounds, long long pause_ns);

/// CPU time (user and system) of the calling thread so far in nanoseconds
/// (getrusage with RUSAGE_THREAD), or -errno.
long long cipcb_thread_cpu_ns(void);

// Processes: no peer and no message. This process starts a program that
// exits at once and waits for it, again and again.

/// `count` times: posix_spawn `path` (argv = { path }, this process's
/// environ, no file actions, no attributes), then waitpid for it (EINTR
/// retried). Stops at the first child that does not exit with 0 and stores
/// its status as a shell reports it (128 + signal for a signal) in `*failed`;
/// 0 there if every child did.
int cipcb_spawn_wait(const char *path, long count, int *failed);

// Cleanup that survives failures: the objects of the measurement in progress
// are registered, and removed by the measurement, by the watchdog, or by the
// handler of SIGINT, SIGTERM and SIGHUP, which also kills the child.

/// Registers a System V queue id; returns the entry's number, or -errno.
int cipcb_cleanup_add_sysv(int queue);

/// Registers a POSIX message queue name; returns the entry's number, or -errno.
int cipcb_cleanup_add_mq(const char *name);

/// Registers a file (a FIFO) to unlink; returns the entry's number, or -errno.
int cipcb_cleanup_add_path(const char *path);

/// Registers a System V semaphore set id; returns the entry's number, or -errno.
int cipcb_cleanup_add_semset(int set);

/// Registers a POSIX named semaphore's name; returns the entry's number, or -errno.
int cipcb_cleanup_add_sem(const char *name);

/// Registers a System V shared memory segment id; returns the entry's number, or -errno.
int cipcb_cleanup_add_shm(int segment);

/// Removes the entry's object and forgets the entry (main thread only).
/// An object someone else removed already is not an error.
int cipcb_cleanup_remove(int entry);

/// Removes the entry's object without forgetting the entry (the watchdog thread).
int cipcb_cleanup_remove_now(int entry);

/// The child number `peer` (0 to 3) of the measurement, which the signal
/// handler kills (pid 0: none).
void cipcb_cleanup_set_child(int peer, int pid);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP, unblocks them, and
/// ignores SIGPIPE (a vanished peer makes write() fail with EPIPE instead).
int cipcb_cleanup_install(void);

/// Blocks the handled signals in the calling thread, so that the handler
/// runs on the main thread only.
void cipcb_cleanup_block_signals(void);

/// Holds (1) or releases (0) the handled signals on the main thread, around
/// making an object known only once it exists (a System V id) and registering
/// it: a signal in between waits, and its handler then removes the object.
void cipcb_cleanup_hold_signals(int hold);

// Signals: a real-time signal with a value each way (sigqueue), read from a
// blocking signalfd. The caller blocks both signals first.

/// A blocking signalfd (close-on-exec) for `signal`, or -errno.
int cipcb_signal_open(int signal);

/// Closes a signalfd.
int cipcb_signal_close(int fd);

/// Ping side: `rounds` times, sigqueue `signal` with value i to `peer`, then
/// read one signal from `fd` and check its value is i (-EPROTO if not).
int cipcb_signal_ping(int fd, pid_t peer, int signal, long rounds);

/// Pong side: `rounds` times, read one signal from `fd` and sigqueue
/// `signal` with its value to `peer`.
int cipcb_signal_pong(int fd, pid_t peer, int signal, long rounds);

// Unix-domain sockets by name ("@name": an abstract name, anything else a
// path), SOCK_STREAM or SOCK_SEQPACKET, close-on-exec. Sends use MSG_NOSIGNAL
// (a vanished peer is -EPIPE); a peer that closes before or inside a message
// is -EPIPE; a message of another size than expected is -EPROTO.

/// socket + bind + listen with `backlog`; the listening descriptor, or -errno.
int cipcb_unix_listen(const char *address, int type, int backlog);

/// socket + connect (EINTR retried); the connected descriptor, or -errno.
int cipcb_unix_connect(const char *address, int type);

/// accept4 with SOCK_CLOEXEC (EINTR retried); the connection, or -errno.
int cipcb_unix_accept(int listener);

/// The pid of the process on the other end (SO_PEERCRED), or -errno.
int cipcb_unix_peer_pid(int fd);

/// Closes a socket. 0 or -errno.
int cipcb_unix_close(int fd);

/// Stream ping: `rounds` times, send one frame (4-byte little-endian length,
/// then `size` bytes, in one send call), then receive one: recv loops for
/// the length, then for the payload, which must be `size` bytes.
int cipcb_unix_stream_ping(int fd, long rounds, size_t size);

/// Stream pong: `rounds` times, receive one frame and send it back.
int cipcb_unix_stream_pong(int fd, long rounds, size_t size);

/// Sends `count` frames of `size` bytes.
int cipcb_unix_stream_send(int fd, long count, size_t size);

/// Receives `count` frames of `size` bytes.
int cipcb_unix_stream_receive(int fd, long count, size_t size);

/// Turns SO_PASSCRED on for `fd` and allocates the spill room of the exact
/// receive (below), once. 0 or -errno.
int cipcb_unix_pass_credentials(int fd);

/// Seqpacket ping: `rounds` times, send a record of `size` bytes, then
/// receive one of `size` bytes. Plain (`exact` false): recv with MSG_TRUNC
/// into a 64 KiB buffer. Exact: what the library's receive does to keep its
/// guarantees (no record cut, no descriptor dropped unseen, an empty record
/// told from the end): recvmsg into the buffer and a spill room, with room
/// for descriptors and credentials, on a socket with SO_PASSCRED
/// (cipcb_unix_pass_credentials first, or -EINVAL).
int cipcb_unix_seqpacket_ping(int fd, long rounds, size_t size, _Bool exact);

/// Seqpacket pong: `rounds` times, receive a record and send it back.
int cipcb_unix_seqpacket_pong(int fd, long rounds, size_t size, _Bool exact);

/// Sends `count` records of `size` bytes.
int cipcb_unix_seqpacket_send(int fd, long count, size_t size);

/// Receives `count` records of `size` bytes.
int cipcb_unix_seqpacket_receive(int fd, long count, size_t size, _Bool exact);

/// Descriptor-passing ping over a stream socket: `rounds` times, send one
/// frame of `size` bytes with `passed` attached (sendmsg, SCM_RIGHTS), then
/// receive one: one recvmsg of up to 8 KiB (MSG_CMSG_CLOEXEC, room for one
/// descriptor), as the library's read-ahead reads, which must bring exactly
/// one descriptor (-EPROTO if not, or on MSG_CTRUNC), closed at once; recv
/// loops only for what a short read left.
int cipcb_unix_fdpass_ping(int fd, int passed, long rounds, size_t size);

/// Descriptor-passing pong: `rounds` times, receive a frame and its
/// descriptor (closed), then send the payload back with `passed` attached.
int cipcb_unix_fdpass_pong(int fd, int passed, long rounds, size_t size);

#endif
