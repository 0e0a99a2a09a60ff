#ifndef CIPCSHIMS_H
#define CIPCSHIMS_H

// Thin shim for what Swift cannot reach through Glibc. No policy lives here.
// Flags that glibc only declares under _GNU_SOURCE are mirrored as constants;
// CShims/shims.c checks each against the system header with _Static_assert.

/// msgrcv: receive any message whose type differs from msgtyp (Linux, _GNU_SOURCE).
static const int CIPC_MSG_EXCEPT = 020000;
/// msgrcv: copy the message at index msgtyp without removing it (Linux >= 3.8,
/// CONFIG_CHECKPOINT_RESTORE).
static const int CIPC_MSG_COPY = 040000;
/// msgrcv: truncate a message longer than msgsz instead of failing with E2BIG.
static const int CIPC_MSG_NOERROR = 010000;

/// Size of the `long mtype` header that precedes every System V message's text.
static const int CIPC_MSG_HEADER_SIZE = sizeof(long);

/// semctl/semop: the largest value a System V semaphore may hold (SEMVMX in the kernel).
static const int CIPC_SEMVMX = 32767;
/// semop: the largest |adjustment| SEM_UNDO may accumulate per semaphore (SEMAEM).
static const int CIPC_SEMAEM = 32767;

#include <sys/types.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/sem.h>
#include <time.h>

/// gettid(2): the calling thread's kernel id (glibc declares it only under _GNU_SOURCE).
pid_t cipc_gettid(void);

/// tgkill(2): sends `signal` to thread `tid` of process `pid`, so a signal
/// interrupts the one thread that is blocked in a call (kill(2) may pick any).
int cipc_tgkill(pid_t pid, pid_t tid, int signal);

/// mq_open(3) with O_CREAT's two extra arguments made explicit (Swift cannot
/// call variadic C functions). `attributes` may be NULL for the defaults.
mqd_t cipc_mq_open(const char *name, int flags, mode_t mode, struct mq_attr *attributes);

/// mq_notify(3) with SIGEV_THREAD: glibc calls `function(value)` on a new
/// thread when a message arrives on the empty queue. `sigevent`'s unions are
/// awkward to fill from Swift.
int cipc_mq_notify_thread(mqd_t queue, void (*function)(union sigval), void *value);

/// pipe2(2): a pipe whose two descriptors get `flags` (O_CLOEXEC) atomically
/// (glibc declares it only under _GNU_SOURCE).
int cipc_pipe2(int fds[2], int flags);

/// preadv2(2) of one buffer at the current position with RWF_NOWAIT: a read
/// that never waits, whatever the descriptor's O_NONBLOCK flag (which belongs
/// to the open file description, shared with other processes). -1 with EAGAIN
/// when nothing is there, 0 at end of stream; EOPNOTSUPP where the file does
/// not support it (a FIFO opened by path). glibc declares both only under _GNU_SOURCE.
ssize_t cipc_read_nowait(int fd, void *buffer, size_t count);

/// semctl(2) for commands that take no fourth argument (GETVAL, GETNCNT,
/// GETZCNT, GETPID, IPC_RMID): Swift cannot call variadic C functions.
int cipc_semctl(int id, int index, int command);

/// semctl(2) SETVAL: `value` travels in union semun's `val`.
int cipc_semctl_setval(int id, int index, int value);

/// semctl(2) GETALL or SETALL: `values` (one per semaphore) travels in semun's `array`.
int cipc_semctl_all(int id, int command, unsigned short *values);

/// semctl(2) IPC_STAT or IPC_SET: `info` travels in semun's `buf`.
int cipc_semctl_ds(int id, int command, struct semid_ds *info);

/// semtimedop(2) (glibc declares it only under _GNU_SOURCE); `timeout` is
/// relative and NULL waits as long as needed, like semop(2).
int cipc_semtimedop(int id, struct sembuf *operations, size_t count, const struct timespec *timeout);

/// sem_open(3) with O_CREAT's two extra arguments made explicit (variadic in C).
sem_t *cipc_sem_open(const char *name, int flags, mode_t mode, unsigned int value);

/// sem_clockwait(3) on CLOCK_MONOTONIC (a GNU extension, glibc >= 2.30):
/// sem_timedwait's deadline is on CLOCK_REALTIME and moves with the wall clock.
int cipc_sem_wait_monotonic(sem_t *semaphore, const struct timespec *deadline);

// MARK: Shared memory: C11 atomics and process-shared pthread objects

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/// memory_order values, mirrored for Swift (CShims/shims.c checks each).
static const int CIPC_MEMORY_ORDER_RELAXED = 0;
static const int CIPC_MEMORY_ORDER_ACQUIRE = 2;
static const int CIPC_MEMORY_ORDER_RELEASE = 3;
static const int CIPC_MEMORY_ORDER_ACQ_REL = 4;
static const int CIPC_MEMORY_ORDER_SEQ_CST = 5;

// C11 atomics on an aligned int32_t or int64_t in shared memory. Swift cannot
// name _Atomic types, so the address travels as a plain pointer and is cast
// here (shims.c asserts both are lock-free and laid out as the plain type:
// lock-free atomics work across processes). Inline, so a constant order from
// Swift folds into the one instruction it needs. `order` must be valid for the
// operation (no release on a load, no acquire on a store): the caller checks.

static inline int32_t cipc_atomic_load_32(int32_t *address, int order) {
  return atomic_load_explicit((_Atomic int32_t *)address, (memory_order)order);
}
static inline void cipc_atomic_store_32(int32_t *address, int32_t value, int order) {
  atomic_store_explicit((_Atomic int32_t *)address, value, (memory_order)order);
}
/// Wrapping addition; returns the value before it.
static inline int32_t cipc_atomic_fetch_add_32(int32_t *address, int32_t value, int order) {
  return atomic_fetch_add_explicit((_Atomic int32_t *)address, value, (memory_order)order);
}
static inline int32_t cipc_atomic_exchange_32(int32_t *address, int32_t value, int order) {
  return atomic_exchange_explicit((_Atomic int32_t *)address, value, (memory_order)order);
}
/// Strong compare-exchange; `*expected` receives the value found.
static inline _Bool cipc_atomic_compare_exchange_32(int32_t *address, int32_t *expected, int32_t desired,
                                                    int success, int failure) {
  return atomic_compare_exchange_strong_explicit((_Atomic int32_t *)address, expected, desired,
                                                 (memory_order)success, (memory_order)failure);
}

static inline int64_t cipc_atomic_load_64(int64_t *address, int order) {
  return atomic_load_explicit((_Atomic int64_t *)address, (memory_order)order);
}
static inline void cipc_atomic_store_64(int64_t *address, int64_t value, int order) {
  atomic_store_explicit((_Atomic int64_t *)address, value, (memory_order)order);
}
/// Wrapping addition; returns the value before it.
static inline int64_t cipc_atomic_fetch_add_64(int64_t *address, int64_t value, int order) {
  return atomic_fetch_add_explicit((_Atomic int64_t *)address, value, (memory_order)order);
}
static inline int64_t cipc_atomic_exchange_64(int64_t *address, int64_t value, int order) {
  return atomic_exchange_explicit((_Atomic int64_t *)address, value, (memory_order)order);
}
/// Strong compare-exchange; `*expected` receives the value found.
static inline _Bool cipc_atomic_compare_exchange_64(int64_t *address, int64_t *expected, int64_t desired,
                                                    int success, int failure) {
  return atomic_compare_exchange_strong_explicit((_Atomic int64_t *)address, expected, desired,
                                                 (memory_order)success, (memory_order)failure);
}

/// pthread_mutex_init with PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and
/// PTHREAD_MUTEX_ERRORCHECK (relocking by the holder fails with EDEADLK instead
/// of hanging). Returns 0 or an errno value, as pthread calls do.
int cipc_mutex_init_shared_robust(pthread_mutex_t *mutex);

/// pthread_mutex_clocklock on CLOCK_MONOTONIC (glibc >= 2.30, declared only
/// under _GNU_SOURCE); `deadline` is absolute. Returns 0 or an errno value.
int cipc_mutex_lock_monotonic(pthread_mutex_t *mutex, const struct timespec *deadline);

/// pthread_cond_init with PTHREAD_PROCESS_SHARED and CLOCK_MONOTONIC for
/// pthread_cond_timedwait's deadline. Returns 0 or an errno value.
int cipc_cond_init_shared_monotonic(pthread_cond_t *condition);

/// Whether `mutex` carries every flag a mutex made by cipc_mutex_init_shared_robust
/// has (glibc keeps them in __data.__kind, fixed at init). Zeroed memory is
/// a valid private, non-robust mutex to glibc, so a forgotten init would
/// otherwise go unnoticed until a holder dies or another process waits.
_Bool cipc_mutex_is_shared_robust(const pthread_mutex_t *mutex);

/// Whether `condition` carries the flags cipc_cond_init_shared_monotonic sets
/// (glibc keeps them in the low bits of __data.__wrefs), as above.
_Bool cipc_cond_is_shared_monotonic(const pthread_cond_t *condition);

// MARK: Processes: pidfds, spawn file actions glibc declares only under _GNU_SOURCE

#include <spawn.h>

/// pidfd_open(2) (Linux >= 5.3): a descriptor (close-on-exec) that refers to
/// process `pid` and no other, even after the pid is reused. -1 and errno
/// ENOSYS on older kernels. glibc 2.36 has no wrapper for older systems.
int cipc_pidfd_open(pid_t pid);

/// pidfd_send_signal(2) (Linux >= 5.1): sends `signal` to the process the
/// pidfd refers to; ESRCH once it has been reaped, never another process.
int cipc_pidfd_send_signal(int pidfd, int signal);

/// posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34): the child closes
/// every descriptor from `from` up. Returns 0 or an errno value (ENOSYS
/// where glibc lacks it).
int cipc_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from);

/// posix_spawn_file_actions_addchdir_np (glibc >= 2.29): the child changes to
/// `path` before exec. Returns 0 or an errno value.
int cipc_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path);

/// pthread_setname_np (declared only under _GNU_SOURCE): names a thread, at
/// most 15 bytes, as `ps -L` and debuggers show it. Returns 0 or an errno value.
int cipc_thread_set_name(pthread_t thread, const char *name);

/// Installs a handler for `signal` that writes the signal's number as one
/// byte to `fd` (non-blocking, errno preserved: async-signal-safe), with
/// SA_RESTART so the program's blocking calls go on. The previous action is
/// stored in `previous`. Returns 0 or -1 and errno. Written in C because a
/// Swift handler may touch lazily initialised globals, which is not safe in a
/// signal handler.
int cipc_signal_forward(int signal, int fd, struct sigaction *previous);

/// Whether `signal`'s handler is still the one cipc_signal_forward installed
/// (the program may have installed its own since).
_Bool cipc_signal_is_forwarded(int signal);

/// The signal that wakes one of the library's waiting threads out of a
/// blocking call (SIGRTMAX, the last real-time signal): it is sent only with
/// pthread_kill to the library's own threads, the only ones that unblock it.
int cipc_wake_signal(void);

/// Installs the wake signal's handler once: it does nothing, without
/// SA_RESTART, so the blocking call it lands in fails with EINTR and the
/// thread checks whether its wait was cancelled. Returns 0 (also when it is
/// installed already), or -1 and errno: EBUSY if the program has its own
/// handler for SIGRTMAX or ignores it, which is left alone.
int cipc_wake_install(void);

/// The wait job the calling thread is running (a library waiting thread), or
/// NULL; a thread-local slot, so EINTR handling can ask whether to give up.
void *cipc_current_job(void);
/// Sets the calling thread's wait job (NULL when it has none).
void cipc_set_current_job(void *job);

// MARK: Signals as IPC: values, signalfd

#include <sys/signalfd.h>
#include "CIPCChannel.h"

/// SIGRTMIN and SIGRTMAX as glibc has them in force (macros Swift cannot
/// import: glibc keeps the first real-time signals for its own threads).
int cipc_sigrtmin(void);
int cipc_sigrtmax(void);

/// What the C library calls `signal` ("User defined signal 1"):
/// sigdescr_np (glibc >= 2.32, thread-safe), or strsignal before it.
const char *cipc_signal_description(int signal);

/// sigqueue(3) with the value as an int (Swift cannot build `union sigval`
/// portably): queues `signal` with `value` for process `pid`.
int cipc_sigqueue(pid_t pid, int signal, int value);

/// pidfd_send_signal(2) with a siginfo as sigqueue(3) fills it (SI_QUEUE,
/// this process's pid and real uid, `value`): a real-time signal queues with
/// its value, to the process the pidfd refers to and no other.
int cipc_pidfd_sigqueue(int pidfd, int signal, int value);

/// The read end of the library's buffer for `signal` (a non-blocking pipe,
/// close-on-exec, made on the first call and kept for the life of the
/// process), and the signal's handler installed: a signal that reaches a
/// thread not blocking it (the main thread of an async program, which
/// libdispatch parks in sigsuspend with every signal unblocked; a thread
/// started before the signal was blocked) is written there as one
/// `struct signalfd_siginfo` instead of taking its default action. -1 and
/// errno on failure.
int cipc_signal_rescue_open(int signal);

/// epoll_create1(EPOLL_CLOEXEC): a set of descriptors, itself readable while
/// one of them is (epoll.h is not in Swift's Glibc module).
int cipc_epoll_create(void);

/// epoll_ctl(EPOLL_CTL_ADD) of `fd` for EPOLLIN, level-triggered (struct
/// epoll_event is packed on x86-64, which Swift does not import).
int cipc_epoll_add_readable(int set, int fd);

/// How many `signal`s the handler above could not buffer (the pipe was full).
unsigned long cipc_signal_rescue_lost(int signal);

/// How many `signal`s the handler buffered that no receiver has read yet:
/// receivers skip the pipe's `read` while it is 0.
long cipc_signal_rescue_pending(int signal);

/// A receiver read one buffered `signal` (see cipc_signal_rescue_pending).
void cipc_signal_rescue_taken(int signal);

/// Registers the calling thread as about to block in `read` of a signalfd
/// whose mask holds `signals` (bit n-1 for signal n) and SIGRTMAX, so that the
/// handler above, buffering one of them meanwhile, wakes it with SIGRTMAX.
/// The first call in a thread blocks SIGRTMAX there for good (it must stay
/// pending for the signalfd, never run a handler first and be lost).
/// Returns the slot to pass to cipc_signal_reader_leave; -1 (unregistered)
/// when one of `signals` is buffered already, to read first; -2 when no slot
/// is free or SIGRTMAX cannot be blocked: wait another way.
int cipc_signal_reader_enter(uint64_t signals);

/// The read registered by cipc_signal_reader_enter is over.
void cipc_signal_reader_leave(int slot);

// MARK: Unix sockets

#include <sys/socket.h>
#include <sys/un.h>

/// The most descriptors one SCM_RIGHTS message may carry (SCM_MAX_FD in the
/// kernel's include/net/scm.h; sockets.c cannot check it, the kernel does not
/// export it: a larger count fails with EINVAL).
static const int CIPC_SCM_MAX_FD = 253;

/// The size of sockaddr_un's sun_path (108 on Linux; sockets.c checks it).
static const int CIPC_SUN_PATH_SIZE = 108;

/// socket(AF_UNIX, type | SOCK_CLOEXEC [| SOCK_NONBLOCK]) where `kind` is 0
/// (SOCK_STREAM), 1 (SOCK_SEQPACKET) or 2 (SOCK_DGRAM): Glibc's SOCK_* are an
/// enum Swift imports awkwardly and SOCK_CLOEXEC is a _GNU_SOURCE-era flag.
int cipc_unix_socket(int kind, _Bool nonblocking);

/// Fills `address` with `length` bytes of `name` (a path, NUL-terminated
/// here; or an abstract name after a leading NUL byte) and returns the
/// length to give bind/connect, or 0 if the name does not fit sun_path.
socklen_t cipc_unix_address(struct sockaddr_un *address, const char *name, size_t length, _Bool abstract);

/// The name in `address` of `length` bytes (as accept/recvfrom filled it):
/// sets `*name` and `*abstract` and returns its length; 0 for an unnamed
/// socket (an unbound or autobound-less peer).
size_t cipc_unix_address_name(const struct sockaddr_un *address, socklen_t length, const char **name,
                              _Bool *abstract);

/// bind(2) of `fd` to `name` (see cipc_unix_address). A path is created
/// with exactly `mode`: the bind runs on a short-lived thread that calls
/// unshare(CLONE_FS) and sets its own umask, so no other thread's umask
/// changes, even for a moment. Where unshare is refused (seccomp), the bind
/// runs with the process's umask and the file is chmod-ed right after (a
/// umask can only remove bits, so the window never grants more than asked).
/// Returns 0 or -1 and errno.
int cipc_unix_bind(int fd, const char *name, size_t length, _Bool abstract, mode_t mode);

/// connect(2) of `fd` to `name` (see cipc_unix_address). 0 or -1 and errno.
int cipc_unix_connect(int fd, const char *name, size_t length, _Bool abstract);

/// accept4(2) with SOCK_CLOEXEC (declared only under _GNU_SOURCE); the
/// peer's address is not asked for.
int cipc_unix_accept(int fd);

/// getsockopt(SO_PEERCRED): who connected (struct ucred is declared only
/// under _GNU_SOURCE). 0 or -1 and errno.
int cipc_unix_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// setsockopt(SO_PASSCRED): whether recvmsg reports each message's sender
/// (SCM_CREDENTIALS). 0 or -1 and errno.
int cipc_unix_pass_credentials(int fd, _Bool enabled);

/// sendmsg(2) of `headerCount` bytes of `header` then `count` bytes of
/// `bytes` (two iovecs: a frame's length and payload go out in one call,
/// without a copy; with no descriptor and at most 512 bytes in all, one
/// send(2) or sendto(2) of the two joined), with `descriptorCount` descriptors as one SCM_RIGHTS
/// control message (none if 0), to `name` if it is not NULL (a datagram
/// socket's destination), with `flags` (MSG_NOSIGNAL, MSG_DONTWAIT). The
/// CMSG_* macros cannot be imported into Swift. Returns the bytes sent or -1
/// and errno (EINVAL for more than CIPC_SCM_MAX_FD descriptors).
ssize_t cipc_unix_send(int fd, const void *header, size_t headerCount, const void *bytes, size_t count,
                       const int *descriptors, size_t descriptorCount, const char *name, size_t nameLength,
                       _Bool abstract, int flags);

/// What cipc_unix_receive found besides the bytes.
struct cipc_unix_received {
  /// The descriptors of every SCM_RIGHTS control message, in order (they are
  /// open, close-on-exec: the caller owns them).
  int descriptors[253];
  size_t descriptorCount;
  /// SCM_CREDENTIALS, if the socket has SO_PASSCRED and the kernel sent them.
  _Bool hasCredentials;
  pid_t pid;
  uid_t uid;
  gid_t gid;
  /// msghdr's msg_flags: MSG_TRUNC, MSG_CTRUNC.
  int flags;
  /// The sender's address (datagram sockets), `addressLength` bytes of it.
  struct sockaddr_un address;
  socklen_t addressLength;
};

/// The descriptors `received` holds (its first `descriptorCount`), without
/// copying the whole array as Swift's import of a C array field would.
static inline const int *cipc_unix_received_descriptors(const struct cipc_unix_received *received) {
  return received->descriptors;
}

/// recvmsg(2) into `count` bytes with a control buffer for 253 descriptors
/// and one set of credentials, with MSG_CMSG_CLOEXEC and `flags`
/// (MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC). Every descriptor that arrived is in
/// `received`, so none can leak. Returns what recvmsg returns.
ssize_t cipc_unix_receive(int fd, void *bytes, size_t count, int flags, struct cipc_unix_received *received);

/// cipc_unix_receive into `count` bytes, then, for what does not fit there,
/// `spillCount` bytes of `spill` (none if NULL): a record is taken in one
/// call whatever the caller's buffer, with MSG_TRUNC returning its real
/// length. The sender's address is asked for only `withSender`.
ssize_t cipc_unix_receive_spilling(int fd, void *bytes, size_t count, void *spill, size_t spillCount,
                                   _Bool withSender, int flags, struct cipc_unix_received *received);

/// recvmsg(2) with MSG_PEEK | MSG_TRUNC and `flags` (MSG_DONTWAIT) into no
/// bytes and a control buffer with room for credentials only (so no passed
/// descriptor is installed by the peek): the length of the next record of a
/// seqpacket or datagram socket, which stays queued. With SO_PASSCRED on,
/// every record carries credentials and the end of the stream none, so
/// `*isRecord` tells an empty record (0, true) from the end (0, false).
ssize_t cipc_unix_peek(int fd, int flags, _Bool *isRecord);

/// The filesystem type of `fd` (fstatfs's f_type): MQUEUE_MAGIC, TMPFS_MAGIC...
/// or 0 if fstatfs fails.
long cipc_filesystem_type(int fd);
/// Magic numbers of statfs(2)'s f_type: TMPFS_MAGIC from linux/magic.h (sockets.c
/// checks it), MQUEUE_MAGIC from the kernel's ipc/mqueue.c (not exported).
static const long CIPC_MQUEUE_MAGIC = 0x19800202;
static const long CIPC_TMPFS_MAGIC = 0x01021994;

/// getsockopt(SO_TYPE) mapped to cipc_unix_socket's kinds (0, 1, 2), -1 for
/// another type or not a socket; `*isUnix` says whether SO_DOMAIN is AF_UNIX.
int cipc_socket_kind(int fd, _Bool *isUnix);

/// One named Unix socket of this network namespace, as NETLINK_SOCK_DIAG
/// (unix_diag) reports it: unlike /proc/net/unix, a name is bytes with a
/// length, so a newline in a path cannot forge another line.
struct cipc_unix_socket_entry {
  /// The socket's inode, as /proc/PID/fd links show it (`socket:[INODE]`).
  uint32_t inode;
  /// cipc_unix_socket's kinds: 0 stream, 1 seqpacket, 2 datagram; -1 another type.
  int kind;
  /// The kernel's sk_state: CIPC_UNIX_LISTENING, CIPC_UNIX_CONNECTED or CIPC_UNIX_UNCONNECTED.
  int state;
  /// The owner (UDIAG_SHOW_UID, Linux 5.3 and later).
  _Bool hasUID;
  uid_t uid;
  /// The peer's inode; 0 for none.
  uint32_t peer;
  /// The name: a path without its NUL, or an abstract name after its leading NUL.
  size_t nameLength;
  char name[108];
};

/// sk_state values of a Unix socket (TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE).
static const int CIPC_UNIX_LISTENING = 10;
static const int CIPC_UNIX_CONNECTED = 1;
static const int CIPC_UNIX_UNCONNECTED = 7;

/// Every named Unix socket of the network namespace, from a NETLINK_SOCK_DIAG
/// dump (UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_UID), whose NLMSG_* and
/// RTA_* macros Swift cannot import. On success `*entries` is an array of
/// `*count` entries to free(3). Returns 0, or -1 and errno (ENOENT when the
/// kernel has no unix_diag).
int cipc_unix_sockets(struct cipc_unix_socket_entry **entries, size_t *count);

#endif
