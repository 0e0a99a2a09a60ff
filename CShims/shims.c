#include "CIPCShims.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

_Static_assert(CIPC_MSG_EXCEPT == MSG_EXCEPT, "MSG_EXCEPT mirrors the system header");
_Static_assert(CIPC_MSG_COPY == MSG_COPY, "MSG_COPY mirrors the system header");
_Static_assert(CIPC_MSG_NOERROR == MSG_NOERROR, "MSG_NOERROR mirrors the system header");
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
