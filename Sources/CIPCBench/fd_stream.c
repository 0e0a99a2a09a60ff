#include "CIPCBench.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

// One loop for every byte stream (FIFO, pipe, socketpair): each message is
// exactly `size` bytes, written and read whole however the kernel splits it.
static char out[65536], in[65536];

int cipcb_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

// EINTR is retried, as the Swift layer does, so both pay for the same loop.
static int write_all(int fd, const char *bytes, size_t size) {
  while (size > 0) {
    ssize_t written = write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    bytes += written;
    size -= (size_t)written;
  }
  return 0;
}

// The peer closing its end in the middle of a message, or before it, is -EPIPE.
static int read_all(int fd, char *bytes, size_t size) {
  while (size > 0) {
    ssize_t count = read(fd, bytes, size);
    if (count < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (count == 0) return -EPIPE;
    bytes += count;
    size -= (size_t)count;
  }
  return 0;
}

int cipcb_fd_ping(int readFD, int writeFD, long rounds, size_t size) {
  if (size > sizeof out) return -EMSGSIZE;
  memset(out, 'p', size);
  for (long i = 0; i < rounds; i++) {
    int status = write_all(writeFD, out, size);
    if (status == 0) status = read_all(readFD, in, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_fd_pong(int readFD, int writeFD, long rounds, size_t size) {
  if (size > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < rounds; i++) {
    int status = read_all(readFD, in, size);
    if (status == 0) status = write_all(writeFD, in, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_fd_send(int readFD, int writeFD, long count, size_t size) {
  (void)readFD;
  if (size > sizeof out) return -EMSGSIZE;
  memset(out, 's', size);
  for (long i = 0; i < count; i++) {
    int status = write_all(writeFD, out, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_fd_receive(int readFD, int writeFD, long count, size_t size) {
  (void)writeFD;
  if (size > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < count; i++) {
    int status = read_all(readFD, in, size);
    if (status != 0) return status;
  }
  return 0;
}
