#include "CIPCBench.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/shm.h>

void *cipcb_shm_attach(int segment) {
  void *address = shmat(segment, NULL, 0);
  return address == (void *)-1 ? NULL : address;
}

int cipcb_shm_detach(void *address) { return shmdt(address) == 0 ? 0 : -errno; }

// One buffer per side, cache-line aligned like the Swift loops' buffers: the
// benchmark processes are single-threaded.
static _Alignas(64) unsigned char block[65536];

// Every block carries its sequence number in its first 8 bytes, so a broken
// protocol fails the run instead of measuring nonsense. Both languages pay it.
static void stamp(long sequence) { memcpy(block, &(int64_t){sequence}, sizeof(int64_t)); }

static int stamped(long sequence) {
  int64_t found;
  memcpy(&found, block, sizeof found);
  return found == sequence;
}

// One semop on one semaphore, sem_flg 0, EINTR retried (as in sysv_sem.c).
static int operate(int set, unsigned short index, short delta) {
  struct sembuf operation = {.sem_num = index, .sem_op = delta, .sem_flg = 0};
  while (semop(set, &operation, 1) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

int cipcb_shmsem_send(void *base, int set, long count, size_t size, long slots) {
  memset(block, 's', size);
  for (long i = 0; i < count; i++) {
    int status = operate(set, CIPCB_SHMSEM_EMPTY, -1);
    if (status != 0) return status;
    stamp(i);
    memcpy((unsigned char *)base + (size_t)(i % slots) * size, block, size);
    status = operate(set, CIPCB_SHMSEM_FULL, 1);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_shmsem_receive(void *base, int set, long count, size_t size, long slots) {
  for (long i = 0; i < count; i++) {
    int status = operate(set, CIPCB_SHMSEM_FULL, -1);
    if (status != 0) return status;
    memcpy(block, (unsigned char *)base + (size_t)(i % slots) * size, size);
    status = operate(set, CIPCB_SHMSEM_EMPTY, 1);
    if (status != 0) return status;
    if (!stamped(i)) return -EPROTO;
  }
  return 0;
}

// The ring's layout (CIPCB_RING_* in the header): the producer's count of
// blocks written, the consumer's count of blocks read, each on a cache line
// of its own, then the slots.
static _Atomic int64_t *counter(void *base, size_t offset) {
  return (_Atomic int64_t *)((unsigned char *)base + offset);
}

int cipcb_ring_send(void *base, long count, size_t size, long slots) {
  _Atomic int64_t *head = counter(base, CIPCB_RING_HEAD), *tail = counter(base, CIPCB_RING_TAIL);
  unsigned char *slot = (unsigned char *)base + CIPCB_RING_SLOTS;
  memset(block, 's', size);
  int64_t written = 0, read = 0;  // read: the consumer's count as last seen
  for (long i = 0; i < count; i++) {
    while (written - read == slots) {
      read = atomic_load_explicit(tail, memory_order_acquire);
      if (written - read == slots) sched_yield();
    }
    stamp(i);
    memcpy(slot + (size_t)(written % slots) * size, block, size);
    written += 1;
    atomic_store_explicit(head, written, memory_order_release);
  }
  return 0;
}

int cipcb_ring_receive(void *base, long count, size_t size, long slots) {
  _Atomic int64_t *head = counter(base, CIPCB_RING_HEAD), *tail = counter(base, CIPCB_RING_TAIL);
  unsigned char *slot = (unsigned char *)base + CIPCB_RING_SLOTS;
  int64_t read = 0, written = 0;  // written: the producer's count as last seen
  for (long i = 0; i < count; i++) {
    while (written == read) {
      written = atomic_load_explicit(head, memory_order_acquire);
      if (written == read) sched_yield();
    }
    memcpy(block, slot + (size_t)(read % slots) * size, size);
    read += 1;
    atomic_store_explicit(tail, read, memory_order_release);
    if (!stamped(i)) return -EPROTO;
  }
  return 0;
}

int cipcb_shm_remove(int segment) { return shmctl(segment, IPC_RMID, NULL) == 0 ? 0 : -errno; }
