#include "CIPCBench.h"

#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

// The baselines of the shm-channel round-trip rows: the plain-C spin ring of
// "shm-ring" used both ways, and a POSIX-semaphore ping-pong whose sides
// pause before answering, as the channel's do in the parked row.

static _Alignas(64) unsigned char block[65536];

static _Atomic int64_t *counter(void *base, size_t offset) {
  return (_Atomic int64_t *)((unsigned char *)base + offset);
}

// One side's view of a one-way ring (the layout of sysv_shm.c's ring): the
// count it publishes and the other side's count as last seen.
struct end {
  void *base;
  int64_t own;
  int64_t seen;
};

// Copies block `sequence` into the next slot of `ring`, waiting (sched_yield,
// as cipcb_ring_send does) while the ring is full.
static void put(struct end *ring, long sequence, size_t size, long slots) {
  _Atomic int64_t *head = counter(ring->base, CIPCB_RING_HEAD), *tail = counter(ring->base, CIPCB_RING_TAIL);
  while (ring->own - ring->seen == slots) {
    ring->seen = atomic_load_explicit(tail, memory_order_acquire);
    if (ring->own - ring->seen == slots) sched_yield();
  }
  memcpy(block, &(int64_t){sequence}, sizeof(int64_t));
  memcpy((unsigned char *)ring->base + CIPCB_RING_SLOTS + (size_t)(ring->own % slots) * size, block, size);
  ring->own += 1;
  atomic_store_explicit(head, ring->own, memory_order_release);
}

// Copies the next slot of `ring` out, waiting while it is empty; 0, or
// -EPROTO if it is not block `sequence`.
static int get(struct end *ring, long sequence, size_t size, long slots) {
  _Atomic int64_t *head = counter(ring->base, CIPCB_RING_HEAD), *tail = counter(ring->base, CIPCB_RING_TAIL);
  while (ring->seen == ring->own) {
    ring->seen = atomic_load_explicit(head, memory_order_acquire);
    if (ring->seen == ring->own) sched_yield();
  }
  memcpy(block, (unsigned char *)ring->base + CIPCB_RING_SLOTS + (size_t)(ring->own % slots) * size, size);
  ring->own += 1;
  atomic_store_explicit(tail, ring->own, memory_order_release);
  int64_t found;
  memcpy(&found, block, sizeof found);
  return found == sequence ? 0 : -EPROTO;
}

int cipcb_ring_ping(void *out, void *in, long rounds, size_t size, long slots) {
  struct end sending = {out, 0, 0}, receiving = {in, 0, 0};
  for (long i = 0; i < rounds; i++) {
    put(&sending, i, size, slots);
    int status = get(&receiving, i, size, slots);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_ring_pong(void *out, void *in, long rounds, size_t size, long slots) {
  struct end sending = {out, 0, 0}, receiving = {in, 0, 0};
  for (long i = 0; i < rounds; i++) {
    int status = get(&receiving, i, size, slots);
    if (status != 0) return status;
    put(&sending, i, size, slots);
  }
  return 0;
}

int cipcb_sem_init_shared(void *address) { return sem_init((sem_t *)address, 1, 0) == 0 ? 0 : -errno; }

void cipcb_spin_ns(long long nanoseconds) {
  long long end = cipcb_now_ns() + nanoseconds;
  while (cipcb_now_ns() < end) {
  }
}

static int wait_one(sem_t *semaphore) {
  while (sem_wait(semaphore) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

int cipcb_sem_ping_paused(sem_t *to_child, sem_t *to_parent, long rounds, long long pause_ns) {
  for (long i = 0; i < rounds; i++) {
    if (sem_post(to_child) != 0) return -errno;
    int status = wait_one(to_parent);
    if (status != 0) return status;
    cipcb_spin_ns(pause_ns);
  }
  return 0;
}

int cipcb_sem_pong_paused(sem_t *to_child, sem_t *to_parent, long rounds, long long pause_ns) {
  for (long i = 0; i < rounds; i++) {
    int status = wait_one(to_child);
    if (status != 0) return status;
    cipcb_spin_ns(pause_ns);
    if (sem_post(to_parent) != 0) return -errno;
  }
  return 0;
}

long long cipcb_thread_cpu_ns(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return -errno;
  return ((long long)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
         ((long long)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}
