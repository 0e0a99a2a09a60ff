#include "CIPCShims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(CIPC_MSG_EXCEPT == MSG_EXCEPT, "MSG_EXCEPT mirrors the system header");
_Static_assert(CIPC_MSG_COPY == MSG_COPY, "MSG_COPY mirrors the system header");
_Static_assert(CIPC_MSG_NOERROR == MSG_NOERROR, "MSG_NOERROR mirrors the system header");
_Static_assert(CIPC_SEMVMX == 32767 && CIPC_SEMAEM == CIPC_SEMVMX,
               "SEMVMX and SEMAEM are fixed in the kernel (include/uapi/linux/sem.h)");
_Static_assert(CIPC_MSG_HEADER_SIZE == sizeof(((struct msgbuf *)0)->mtype),
               "the message header is one long, as struct msgbuf declares");

mqd_t cipc_mq_open(const char *name, int flags, mode_t mode, struct mq_attr *attributes) {
  return mq_open(name, flags, mode, attributes);
}

int cipc_mq_notify_thread(mqd_t queue, void (*function)(union sigval), void *value) {
  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_THREAD;
  event.sigev_notify_function = function;
  event.sigev_value.sival_ptr = value;
  return mq_notify(queue, &event);
}

pid_t cipc_gettid(void) { return gettid(); }

int cipc_tgkill(pid_t pid, pid_t tid, int signal) { return tgkill(pid, tid, signal); }

int cipc_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

ssize_t cipc_read_nowait(int fd, void *buffer, size_t count) {
  struct iovec vector = {.iov_base = buffer, .iov_len = count};
  return preadv2(fd, &vector, 1, -1, RWF_NOWAIT);
}

// Linux's union semun: the caller must define it (sys/sem.h does not), see semctl(2).
union cipc_semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

int cipc_semctl(int id, int index, int command) { return semctl(id, index, command); }

int cipc_semctl_setval(int id, int index, int value) {
  union cipc_semun argument = {.val = value};
  return semctl(id, index, SETVAL, argument);
}

int cipc_semctl_all(int id, int command, unsigned short *values) {
  union cipc_semun argument = {.array = values};
  return semctl(id, 0, command, argument);
}

int cipc_semctl_ds(int id, int command, struct semid_ds *info) {
  union cipc_semun argument = {.buf = info};
  return semctl(id, 0, command, argument);
}

int cipc_semtimedop(int id, struct sembuf *operations, size_t count, const struct timespec *timeout) {
  return semtimedop(id, operations, count, timeout);
}

sem_t *cipc_sem_open(const char *name, int flags, mode_t mode, unsigned int value) {
  return sem_open(name, flags, mode, value);
}

int cipc_sem_wait_monotonic(sem_t *semaphore, const struct timespec *deadline) {
  return sem_clockwait(semaphore, CLOCK_MONOTONIC, deadline);
}

_Static_assert(CIPC_MEMORY_ORDER_RELAXED == memory_order_relaxed &&
                   CIPC_MEMORY_ORDER_ACQUIRE == memory_order_acquire &&
                   CIPC_MEMORY_ORDER_RELEASE == memory_order_release &&
                   CIPC_MEMORY_ORDER_ACQ_REL == memory_order_acq_rel &&
                   CIPC_MEMORY_ORDER_SEQ_CST == memory_order_seq_cst,
               "the memory orders mirror stdatomic.h");
// Only lock-free atomics work between processes: a lock would live in each process.
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && sizeof(int) == sizeof(int32_t),
               "32-bit atomics are always lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && sizeof(long long) == sizeof(int64_t),
               "64-bit atomics are always lock-free");
_Static_assert(sizeof(_Atomic int32_t) == sizeof(int32_t) && _Alignof(_Atomic int32_t) == _Alignof(int32_t),
               "an _Atomic int32_t is laid out as the int32_t Swift sees");
_Static_assert(sizeof(_Atomic int64_t) == sizeof(int64_t) && _Alignof(_Atomic int64_t) == _Alignof(int64_t),
               "an _Atomic int64_t is laid out as the int64_t Swift sees");

int cipc_mutex_init_shared_robust(pthread_mutex_t *mutex) {
  pthread_mutexattr_t attributes;
  int result = pthread_mutexattr_init(&attributes);
  if (result != 0) return result;
  result = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (result == 0) result = pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  if (result == 0) result = pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
  if (result == 0) result = pthread_mutex_init(mutex, &attributes);
  pthread_mutexattr_destroy(&attributes);
  return result;
}

int cipc_mutex_lock_monotonic(pthread_mutex_t *mutex, const struct timespec *deadline) {
  return pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, deadline);
}

int cipc_cond_init_shared_monotonic(pthread_cond_t *condition) {
  pthread_condattr_t attributes;
  int result = pthread_condattr_init(&attributes);
  if (result != 0) return result;
  result = pthread_condattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (result == 0) result = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
  if (result == 0) result = pthread_cond_init(condition, &attributes);
  pthread_condattr_destroy(&attributes);
  return result;
}

// The flags are compared with those of a mutex or condition made here with the
// same attributes, so no glibc-internal constant is spelled out.
_Bool cipc_mutex_is_shared_robust(const pthread_mutex_t *mutex) {
#ifdef __GLIBC__
  pthread_mutex_t reference;
  if (cipc_mutex_init_shared_robust(&reference) != 0) return 1;  // cannot tell: do not refuse
  int expected = reference.__data.__kind;
  pthread_mutex_destroy(&reference);
  int kind = __atomic_load_n(&mutex->__data.__kind, __ATOMIC_RELAXED);
  return (kind & expected) == expected;
#else
  (void)mutex;
  return 1;
#endif
}

_Bool cipc_cond_is_shared_monotonic(const pthread_cond_t *condition) {
#ifdef __GLIBC__
  pthread_cond_t reference;
  if (cipc_cond_init_shared_monotonic(&reference) != 0) return 1;
  unsigned expected = reference.__data.__wrefs;  // no waiters yet: the flags alone
  pthread_cond_destroy(&reference);
  unsigned flags = __atomic_load_n(&condition->__data.__wrefs, __ATOMIC_RELAXED);
  return (flags & expected) == expected;
#else
  (void)condition;
  return 1;
#endif
}

#include <sys/syscall.h>

int cipc_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int cipc_pidfd_send_signal(int pidfd, int signal) {
#ifdef SYS_pidfd_send_signal
  return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
#else
  (void)pidfd;
  (void)signal;
  errno = ENOSYS;
  return -1;
#endif
}

int cipc_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from) {
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)
  return posix_spawn_file_actions_addclosefrom_np(actions, from);
#else
  (void)actions;
  (void)from;
  return ENOSYS;
#endif
}

int cipc_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
  return posix_spawn_file_actions_addchdir_np(actions, path);
}

// One descriptor per signal number: a handler cannot be given a context.
static volatile sig_atomic_t forward_fds[NSIG];

static void forward_signal(int signal) {
  int saved = errno;
  unsigned char byte = (unsigned char)signal;
  int fd = forward_fds[signal];
  if (fd >= 0) (void)write(fd, &byte, 1);  // a full pipe already holds a wake-up
  errno = saved;
}

int cipc_signal_forward(int signal, int fd, struct sigaction *previous) {
  if (signal <= 0 || signal >= NSIG) {
    errno = EINVAL;
    return -1;
  }
  forward_fds[signal] = fd;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return sigaction(signal, &action, previous);
}

int cipc_thread_set_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }

_Bool cipc_signal_is_forwarded(int signal) {
  struct sigaction current;
  if (sigaction(signal, NULL, &current) != 0) return 0;
  return (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == forward_signal;
}

int cipc_wake_signal(void) { return SIGRTMAX; }

static void wake_handler(int signal) { (void)signal; }

int cipc_wake_install(void) {
  struct sigaction current;
  if (sigaction(SIGRTMAX, NULL, &current) != 0) return -1;
  if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == wake_handler) return 0;
  if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) {
    errno = EBUSY;  // the program handles or ignores SIGRTMAX itself: never take it over
    return -1;
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = wake_handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: msgrcv, semop, sem_wait and open return EINTR
  return sigaction(SIGRTMAX, &action, NULL);
}

static _Thread_local void *current_job;

void *cipc_current_job(void) { return current_job; }

void cipc_set_current_job(void *job) { current_job = job; }

int cipc_sigrtmin(void) { return SIGRTMIN; }

int cipc_sigrtmax(void) { return SIGRTMAX; }

const char *cipc_signal_description(int signal) {
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32)
  const char *description = sigdescr_np(signal);
  if (description != NULL) return description;
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) return "Real-time signal";
  return "Unknown signal";
#else
  return strsignal(signal);
#endif
}

int cipc_sigqueue(pid_t pid, int signal, int value) {
  union sigval sent;
  memset(&sent, 0, sizeof sent);
  sent.sival_int = value;
  return sigqueue(pid, signal, sent);
}

int cipc_pidfd_sigqueue(int pidfd, int signal, int value) {
#ifdef SYS_pidfd_send_signal
  // What glibc's sigqueue fills in; the kernel accepts SI_QUEUE from user space.
  siginfo_t info;
  memset(&info, 0, sizeof info);
  info.si_signo = signal;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_int = value;
  return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, &info, 0);
#else
  (void)pidfd;
  (void)signal;
  (void)value;
  errno = ENOSYS;
  return -1;
#endif
}

#include <stdint.h>
#include <sys/signalfd.h>

// One pipe per signal number: its write end for the handler, its read end for
// every receiver of that signal, so a buffered signal waits for the next
// receiver as a pending one does.
static volatile sig_atomic_t rescue_write[NSIG] = {[0 ... NSIG - 1] = -1};
static int rescue_read[NSIG] = {[0 ... NSIG - 1] = -1};
static _Atomic unsigned long rescue_lost[NSIG];
static _Atomic long rescue_pending[NSIG];
static pthread_mutex_t rescue_lock = PTHREAD_MUTEX_INITIALIZER;

// Threads blocked in a read of a receiver's blocking signalfd (the fast
// path of SignalReceiver.wait): their tid (0: free, -1: being claimed) and
// the signals they take (bit n-1 for signal n). A signal the handler buffers
// while one waits would not end that read, so the handler sends the reader
// SIGRTMAX, which it blocks and its signalfd takes too.
#define READER_SLOTS 64
static _Atomic pid_t reader_tid[READER_SLOTS];
static _Atomic uint64_t reader_signals[READER_SLOTS];

static void wake_readers(int signal) {
  uint64_t bit = (uint64_t)1 << (signal - 1);
  pid_t process = 0;
  for (int slot = 0; slot < READER_SLOTS; slot++) {
    // Sequentially consistent, as the reader's store and its check of the
    // pending counts: either it sees this signal buffered, or this sees it.
    pid_t tid = atomic_load(&reader_tid[slot]);
    if (tid <= 0 || !(atomic_load(&reader_signals[slot]) & bit)) continue;
    if (process == 0) process = getpid();
    (void)syscall(SYS_tgkill, process, tid, SIGRTMAX);
  }
}

static void rescue_handler(int signal, siginfo_t *info, void *context) {
  (void)context;
  int saved = errno;
  struct signalfd_siginfo record;
  memset(&record, 0, sizeof record);
  record.ssi_signo = (uint32_t)signal;
  record.ssi_errno = info->si_errno;
  record.ssi_code = info->si_code;
  record.ssi_pid = (uint32_t)info->si_pid;
  record.ssi_uid = info->si_uid;
  record.ssi_status = info->si_status;
  record.ssi_int = info->si_value.sival_int;
  record.ssi_ptr = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
  int fd = rescue_write[signal];
  // One write of 128 bytes (< PIPE_BUF) is atomic: records never interleave.
  if (fd >= 0 && write(fd, &record, sizeof record) == (ssize_t)sizeof record) {
    atomic_fetch_add(&rescue_pending[signal], 1);
  } else {
    atomic_fetch_add(&rescue_lost[signal], 1);
  }
  wake_readers(signal);
  errno = saved;
}

int cipc_signal_rescue_open(int signal) {
  if (signal <= 0 || signal >= NSIG) {
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&rescue_lock);
  int result = rescue_read[signal];
  if (result < 0) {
    int ends[2];
    if (pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) {
      pthread_mutex_unlock(&rescue_lock);
      return -1;
    }
    // As many records as an unprivileged pipe may hold (1 MiB: 8192); the
    // default 64 KiB (512) where the system allows no more.
    (void)fcntl(ends[1], F_SETPIPE_SZ, 1 << 20);
    rescue_write[signal] = ends[1];
    rescue_read[signal] = ends[0];
    result = ends[0];
  }
  struct sigaction current;
  if (sigaction(signal, NULL, &current) == 0 && current.sa_sigaction != rescue_handler) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = rescue_handler;
    // Every signal blocked while it runs: records go out in the order taken.
    sigfillset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(signal, &action, NULL) != 0) result = -1;
  }
  pthread_mutex_unlock(&rescue_lock);
  return result;
}

unsigned long cipc_signal_rescue_lost(int signal) {
  if (signal <= 0 || signal >= NSIG) return 0;
  return atomic_load(&rescue_lost[signal]);
}

long cipc_signal_rescue_pending(int signal) {
  if (signal <= 0 || signal >= NSIG) return 0;
  return atomic_load_explicit(&rescue_pending[signal], memory_order_acquire);
}

void cipc_signal_rescue_taken(int signal) {
  if (signal > 0 && signal < NSIG) atomic_fetch_sub(&rescue_pending[signal], 1);
}

// The calling thread's tid, and whether it blocks SIGRTMAX for its reads;
// both are the forking thread's in a child of fork, which only the tid changes.
static _Thread_local pid_t reader_self;
static _Thread_local _Bool reader_wake_blocked;
static pthread_once_t reader_fork_once = PTHREAD_ONCE_INIT;

static void reader_forked(void) { reader_self = 0; }

static void reader_fork_register(void) { (void)pthread_atfork(NULL, NULL, reader_forked); }

int cipc_signal_reader_enter(uint64_t signals) {
  if (!reader_wake_blocked) {
    // A handler too, should the thread ever unblock it: a late wake then
    // interrupts a call (EINTR) instead of ending the process.
    if (cipc_wake_install() != 0 && errno != EBUSY) return -2;
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, SIGRTMAX);
    if (pthread_sigmask(SIG_BLOCK, &wake, NULL) != 0) return -2;
    (void)pthread_once(&reader_fork_once, reader_fork_register);
    reader_wake_blocked = 1;
  }
  if (reader_self == 0) reader_self = (pid_t)syscall(SYS_gettid);
  int slot = -1;
  for (int tried = 0; tried < READER_SLOTS && slot < 0; tried++) {
    int candidate = (int)(((unsigned)reader_self + (unsigned)tried) % READER_SLOTS);
    pid_t free_slot = 0;
    if (atomic_compare_exchange_strong(&reader_tid[candidate], &free_slot, -1)) slot = candidate;
  }
  if (slot < 0) return -2;
  atomic_store_explicit(&reader_signals[slot], signals, memory_order_relaxed);
  atomic_store(&reader_tid[slot], reader_self);
  for (int signal = 1; signal < NSIG && signal <= 64; signal++) {
    if ((signals & ((uint64_t)1 << (signal - 1))) && atomic_load(&rescue_pending[signal]) > 0) {
      atomic_store(&reader_tid[slot], 0);
      return -1;
    }
  }
  return slot;
}

void cipc_signal_reader_leave(int slot) {
  if (slot >= 0 && slot < READER_SLOTS) atomic_store(&reader_tid[slot], 0);
}

#include <sys/epoll.h>

int cipc_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cipc_epoll_add_readable(int set, int fd) {
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = EPOLLIN;
  event.data.fd = fd;
  return epoll_ctl(set, EPOLL_CTL_ADD, fd, &event);
}
