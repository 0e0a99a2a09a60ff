#include "CIPCBench.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <string.h>

// One buffer per direction, as in sysv_msg.c: the benchmark processes are
// single-threaded. A receive buffer must hold the queue's mq_msgsize.
static char out[65536], in[65536];

int cipcb_mq_open(const char *name, int oflag, unsigned mode, long maxmsg, long msgsize) {
  struct mq_attr attr = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
  mqd_t queue = mq_open(name, oflag, (mode_t)mode, (oflag & O_CREAT) && maxmsg > 0 ? &attr : NULL);
  return queue == (mqd_t)-1 ? -errno : (int)queue;
}

int cipcb_mq_close(int queue) { return mq_close(queue) == 0 ? 0 : -errno; }

int cipcb_mq_unlink(const char *name) { return mq_unlink(name) == 0 ? 0 : -errno; }

// EINTR is retried, as the Swift layer does, so both pay for the same loop.
static int send_one(int queue, const char *bytes, size_t size) {
  while (mq_send(queue, bytes, size, 0) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

static ssize_t receive_one(int queue, size_t msgsize) {
  ssize_t count;
  while ((count = mq_receive(queue, in, msgsize, NULL)) < 0) {
    if (errno != EINTR) return -errno;
  }
  return count;
}

int cipcb_mq_ping(int inbound, int outbound, long rounds, size_t size, size_t msgsize) {
  if (size > sizeof out || msgsize > sizeof in) return -EMSGSIZE;
  memset(out, 'p', size);
  for (long i = 0; i < rounds; i++) {
    int status = send_one(outbound, out, size);
    if (status != 0) return status;
    ssize_t count = receive_one(inbound, msgsize);
    if (count < 0) return (int)count;
  }
  return 0;
}

int cipcb_mq_pong(int inbound, int outbound, long rounds, size_t msgsize) {
  if (msgsize > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < rounds; i++) {
    ssize_t count = receive_one(inbound, msgsize);
    if (count < 0) return (int)count;
    int status = send_one(outbound, in, (size_t)count);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_mq_send(int queue, long count, size_t size) {
  if (size > sizeof out) return -EMSGSIZE;
  memset(out, 's', size);
  for (long i = 0; i < count; i++) {
    int status = send_one(queue, out, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_mq_receive(int queue, long count, size_t msgsize) {
  if (msgsize > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < count; i++) {
    ssize_t received = receive_one(queue, msgsize);
    if (received < 0) return (int)received;
  }
  return 0;
}
