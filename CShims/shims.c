#include "CIPCShims.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
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
