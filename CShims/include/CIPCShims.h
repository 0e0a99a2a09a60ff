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
/// thread checks whether its wait was cancelled. Returns 0 or -1 and errno.
int cipc_wake_install(void);

/// The wait job the calling thread is running (a library waiting thread), or
/// NULL; a thread-local slot, so EINTR handling can ask whether to give up.
void *cipc_current_job(void);
/// Sets the calling thread's wait job (NULL when it has none).
void cipc_set_current_job(void *job);

#endif
