#include "CIPCBench.h"

#include <errno.h>
#include <sys/sem.h>

int cipcb_semset_create(int count) {
  // Linux starts every semaphore of a new set at 0, which is what the rows need.
  int set = semget(IPC_PRIVATE, count, IPC_CREAT | IPC_EXCL | 0600);
  return set < 0 ? -errno : set;
}

// One semop on one semaphore, sem_flg 0 (no IPC_NOWAIT, no SEM_UNDO). EINTR
// is retried, as the Swift layer does, so both pay for the same loop.
static int operate(int set, unsigned short index, short delta) {
  struct sembuf operation = {.sem_num = index, .sem_op = delta, .sem_flg = 0};
  while (semop(set, &operation, 1) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

int cipcb_semset_ping(int set, long rounds) {
  for (long i = 0; i < rounds; i++) {
    int status = operate(set, 0, 1);
    if (status == 0) status = operate(set, 1, -1);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_semset_pong(int set, long rounds) {
  for (long i = 0; i < rounds; i++) {
    int status = operate(set, 0, -1);
    if (status == 0) status = operate(set, 1, 1);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_semset_remove(int set) { return semctl(set, 0, IPC_RMID) == 0 ? 0 : -errno; }
