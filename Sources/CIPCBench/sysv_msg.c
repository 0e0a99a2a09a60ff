#include "CIPCBench.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/msg.h>
#include <time.h>

// One message buffer per direction, as a C program would keep: the benchmark
// processes are single-threaded.
struct message {
  long mtype;
  char mtext[65536];
};
static struct message out, in;

int cipcb_pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

int cipcb_cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

long long cipcb_now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

// EINTR is retried, as the Swift layer does, so both pay for the same loop.
static int send_one(int queue, long type, size_t size) {
  out.mtype = type;
  while (msgsnd(queue, &out, size, 0) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

static int receive_one(int queue, long type, size_t size) {
  while (msgrcv(queue, &in, size, type, 0) < 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

int cipcb_sysv_ping(int queue, long rounds, size_t size) {
  memset(out.mtext, 'p', size);
  for (long i = 0; i < rounds; i++) {
    int status = send_one(queue, 1, size);
    if (status == 0) status = receive_one(queue, 2, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_sysv_pong(int queue, long rounds, size_t size) {
  for (long i = 0; i < rounds; i++) {
    int status = receive_one(queue, 1, size);
    if (status != 0) return status;
    memcpy(out.mtext, in.mtext, size);
    status = send_one(queue, 2, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_sysv_send(int queue, long count, size_t size) {
  memset(out.mtext, 's', size);
  for (long i = 0; i < count; i++) {
    int status = send_one(queue, 1, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_sysv_receive(int queue, long count, size_t size) {
  for (long i = 0; i < count; i++) {
    int status = receive_one(queue, 1, size);
    if (status != 0) return status;
  }
  return 0;
}
