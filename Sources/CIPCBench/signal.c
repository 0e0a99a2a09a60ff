#include "CIPCBench.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

// Signals carry a value both ways: sigqueue to the peer, a blocking read of
// one signalfd_siginfo from a signalfd here. Both processes block the two
// signals before any of this (ipc-bench does so at the top of main).

int cipcb_signal_open(int signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int cipcb_signal_close(int fd) { return close(fd) == 0 ? 0 : -errno; }

static int send_value(pid_t peer, int signal, int value) {
  union sigval sent;
  memset(&sent, 0, sizeof sent);
  sent.sival_int = value;
  return sigqueue(peer, signal, sent) == 0 ? 0 : -errno;
}

// EINTR is retried, as the Swift layer does, so both pay for the same loop.
static int read_value(int fd, int *value) {
  struct signalfd_siginfo info;
  ssize_t got;
  while ((got = read(fd, &info, sizeof info)) < 0) {
    if (errno != EINTR) return -errno;
  }
  if (got != (ssize_t)sizeof info) return -EIO;
  *value = info.ssi_int;
  return 0;
}

int cipcb_signal_ping(int fd, pid_t peer, int signal, long rounds) {
  for (long i = 0; i < rounds; i++) {
    int value = 0;
    int status = send_value(peer, signal, (int)i);
    if (status == 0) status = read_value(fd, &value);
    if (status != 0) return status;
    if (value != (int)i) return -EPROTO;
  }
  return 0;
}

int cipcb_signal_pong(int fd, pid_t peer, int signal, long rounds) {
  for (long i = 0; i < rounds; i++) {
    int value = 0;
    int status = read_value(fd, &value);
    if (status == 0) status = send_value(peer, signal, value);
    if (status != 0) return status;
  }
  return 0;
}
