#include "CIPCBench.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>

int cipcb_sem_create(const char *name) {
  sem_t *semaphore = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  if (semaphore == SEM_FAILED) return -errno;
  return sem_close(semaphore) == 0 ? 0 : -errno;
}

sem_t *cipcb_sem_open(const char *name) {
  sem_t *semaphore = sem_open(name, 0);
  return semaphore == SEM_FAILED ? NULL : semaphore;
}

int cipcb_sem_close(sem_t *semaphore) { return sem_close(semaphore) == 0 ? 0 : -errno; }

// sem_post never blocks and fails only on overflow; sem_wait is interrupted
// by any handled signal, whatever SA_RESTART says. EINTR is retried, as the
// Swift layer does, so both pay for the same loop.
static int post_one(sem_t *semaphore) { return sem_post(semaphore) == 0 ? 0 : -errno; }

static int wait_one(sem_t *semaphore) {
  while (sem_wait(semaphore) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

int cipcb_sem_ping(sem_t *to_child, sem_t *to_parent, long rounds) {
  for (long i = 0; i < rounds; i++) {
    int status = post_one(to_child);
    if (status == 0) status = wait_one(to_parent);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_sem_pong(sem_t *to_child, sem_t *to_parent, long rounds) {
  for (long i = 0; i < rounds; i++) {
    int status = wait_one(to_child);
    if (status == 0) status = post_one(to_parent);
    if (status != 0) return status;
  }
  return 0;
}
