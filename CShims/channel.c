#include "CIPCShims.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// See CIPCChannel.h for the layout. Each side spins a little, then parks on
// a futex word in the region (shared, not private: other processes wake it),
// and the other side makes the wake system call only when that word says
// someone is parked, so a busy stream makes none.

#define MAGIC 0x314e414843435049ULL  // "IPCCHAN1" in memory order
#define VERSION ((uint32_t)CIPC_CHANNEL_VERSION)
#define HEADER 128
#define CONTROL 256
#define SKIP 0xFFFFFFFFu
// A waiting side spins for a while before it parks, how long learned per
// thread and role from its waits: when its peer answered within SPIN_MAX_NS
// of the wait's start, twice that long next time; when not, half as long.
// So a peer that works a few microseconds per message is waited for
// awake, and one that pauses for long costs at most SPIN_MIN_NS per wait.
#define SPIN_MIN_NS 5000LL
#define SPIN_MAX_NS 100000LL
// Parked sides wake at least this often to see whether their peer died.
#define LIVENESS_NS 50000000LL
// An identity: pid in bits 0-31, start time in bits 32-63; these two special.
#define NEVER 0ULL
#define GONE (~0ULL)

struct header {
  uint64_t magic;
  uint32_t version;
  uint32_t producers;
  uint64_t ring;
  _Atomic uint64_t consumer;  // identity
  _Atomic uint32_t consumer_parked;
  _Atomic uint32_t producers_seen;  // a producer attached once: end of stream is possible
};

struct slot {
  _Atomic uint64_t tail;
  _Atomic uint64_t owner;  // identity
  _Atomic uint32_t producer_parked;
  char producer_line[128 - 20];
  _Atomic uint64_t head;
  char consumer_line[128 - 8];
};

_Static_assert(sizeof(struct header) <= HEADER, "the header fits its line");
_Static_assert(offsetof(struct header, consumer) == 24, "the consumer's identity at 24");
_Static_assert(offsetof(struct header, consumer_parked) == 32, "its park word at 32");
_Static_assert(offsetof(struct slot, owner) == 8, "a producer's identity at 8");
_Static_assert(offsetof(struct slot, producer_parked) == 16, "its park word at 16");
_Static_assert(offsetof(struct slot, head) == 128, "the head on the consumer's line");
_Static_assert(sizeof(struct slot) == CONTROL, "a slot's control is two lines");

static struct header *header_of(void *base) { return (struct header *)base; }

static struct slot *slot_of(void *base, int index) {
  struct header *header = header_of(base);
  return (struct slot *)((char *)base + HEADER + (size_t)index * (CONTROL + header->ring));
}

static unsigned char *ring_of(void *base, int index) { return (unsigned char *)slot_of(base, index) + CONTROL; }

static size_t padded(size_t count) { return (count + 7) & ~(size_t)7; }

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static int32_t pid_of(uint64_t identity) { return (int32_t)(uint32_t)(identity & 0xFFFFFFFFu); }
static uint32_t start_of(uint64_t identity) { return (uint32_t)(identity >> 32); }

/// Reads /proc/PID/stat: whether it is a zombie (or dead), and the low 32
/// bits of its start time (field 22, clock ticks since boot). -1 if the file
/// cannot be read (no such process, or /proc hides it), else 0.
static int process_stat(int32_t pid, int *zombie, uint32_t *start) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  // 52 fields of at most 20 digits and a 16-byte name fit.
  char stat[1280];
  ssize_t got = read(fd, stat, sizeof stat - 1);
  close(fd);
  if (got <= 0) return -1;
  stat[got] = 0;
  // "PID (COMM) STATE ...": COMM may hold parentheses, so the last ')'.
  char *end = strrchr(stat, ')');
  if (!end || end[1] != ' ') return -1;
  *zombie = end[2] == 'Z' || end[2] == 'X';
  *start = 0;
  // Field 3 (the state) follows ") "; field 22 is 19 spaces further.
  char *field = end + 2;
  for (int skipped = 0; field && skipped < 19; skipped++) {
    field = strchr(field, ' ');
    if (field) field++;
  }
  if (field) *start = (uint32_t)strtoull(field, NULL, 10);
  return 0;
}

uint64_t cipc_channel_identity(void) {
  int32_t self = (int32_t)getpid();
  int zombie = 0;
  uint32_t start = 0;
  if (process_stat(self, &zombie, &start) != 0) start = 0;
  return (uint64_t)(uint32_t)self | (uint64_t)start << 32;
}

/// Whether the process of `identity` runs: its pid exists, is not a zombie
/// (a dead child its parent has not reaped yet still answers kill(pid, 0)),
/// and started when the recorded one did (else the pid was recycled).
static int alive(uint64_t identity) {
  int32_t pid = pid_of(identity);
  if (identity == GONE || pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return 0;
  int zombie = 0;
  uint32_t start = 0;
  if (process_stat(pid, &zombie, &start) != 0) return 1;  // cannot tell: trust the pid
  if (zombie) return 0;
  uint32_t recorded = start_of(identity);
  return recorded == 0 || start == 0 || recorded == start;
}

static int64_t now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/// Parks on `word` while it is 1, for at most `ns` nanoseconds: -EINTR if
/// a signal ended the sleep, else 0 (woken, timed out, or not 1 any more).
static int park(_Atomic uint32_t *word, int64_t ns) {
  struct timespec wait = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
  long done = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, 1, &wait, NULL, 0);
  return done != 0 && errno == EINTR ? -EINTR : 0;
}

static void wake(_Atomic uint32_t *word) {
  // Ordered after the caller's publication: either the parked side sees the
  // new data when it re-checks, or this sees it parked.
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(word, memory_order_relaxed) != 0) {
    atomic_store_explicit(word, 0, memory_order_relaxed);
    (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
}

enum role { CONSUMING, PRODUCING };
static _Thread_local int64_t spin_budget[2] = {SPIN_MIN_NS, SPIN_MIN_NS};

/// One step of a wait's spin: whether to go on spinning. The wait started
/// at `*start` (set on the first step); the clock is read every 32 steps.
static int spinning(enum role role, int64_t *start, int *steps) {
  if (*start == 0) *start = now_ns();
  relax();
  if ((++*steps & 31) != 0) return 1;
  return now_ns() - *start < spin_budget[role];
}

/// Learns from a wait that ended, parked or not, or timed out (`answered` 0).
static void learn(enum role role, int64_t start, int parked, int answered) {
  if (!parked) return;  // the spin was long enough
  int64_t waited = answered ? now_ns() - start : SPIN_MAX_NS + 1;
  int64_t budget = waited <= SPIN_MAX_NS ? 2 * waited : spin_budget[role] / 2;
  spin_budget[role] = budget < SPIN_MIN_NS ? SPIN_MIN_NS : budget > SPIN_MAX_NS ? SPIN_MAX_NS : budget;
}

/// The deadline of a wait of `timeout_ns` (only > 0 has one).
static int64_t deadline_of(int64_t timeout_ns) { return timeout_ns > 0 ? now_ns() + timeout_ns : 0; }

/// How long to park: until the deadline (when there is a timeout), at most
/// LIVENESS_NS; 0 once the deadline has passed.
static int64_t park_time(int64_t timeout_ns, int64_t deadline) {
  if (timeout_ns < 0) return LIVENESS_NS;
  int64_t left = deadline - now_ns();
  if (left <= 0) return 0;
  return left < LIVENESS_NS ? left : LIVENESS_NS;
}

size_t cipc_channel_size(int producers, size_t ring) {
  if (producers < 1 || producers > 64 || ring < 4096 || ring > ((size_t)1 << 30) || (ring & (ring - 1)))
    return 0;
  return HEADER + (size_t)producers * (CONTROL + ring);
}

int cipc_channel_initialize(void *base, size_t size, int producers, size_t ring) {
  size_t needed = cipc_channel_size(producers, ring);
  if (needed == 0) return -EINVAL;
  if (size < needed) return -ENOSPC;
  memset(base, 0, needed);
  struct header *header = header_of(base);
  header->version = VERSION;
  header->producers = (uint32_t)producers;
  header->ring = ring;
  // The magic last: a peer that checks sees a whole layout or none.
  atomic_thread_fence(memory_order_release);
  header->magic = MAGIC;
  return 0;
}

int cipc_channel_check(const void *base, size_t size, uint32_t *version) {
  if (size < HEADER) return -EPROTO;
  const struct header *header = (const struct header *)base;
  if (header->magic != MAGIC) return -EPROTO;
  if (header->version != VERSION) {
    if (version) *version = header->version;
    return -EPROTONOSUPPORT;
  }
  size_t needed = cipc_channel_size((int)header->producers, header->ring);
  if (needed == 0) return -EPROTO;
  return size < needed ? -ENOSPC : 0;
}

size_t cipc_channel_max_message(const void *base) {
  // At most half a ring, so a record always fits after a skip.
  return ((const struct header *)base)->ring / 2 - 8;
}

int cipc_channel_attach_consumer(void *base) {
  struct header *header = header_of(base);
  uint64_t self = cipc_channel_identity();
  uint64_t current = atomic_load(&header->consumer);
  for (;;) {
    if (pid_of(current) == pid_of(self) || alive(current)) return -EBUSY;
    if (atomic_compare_exchange_weak(&header->consumer, &current, self)) return 0;
  }
}

void cipc_channel_detach_consumer(void *base) {
  struct header *header = header_of(base);
  atomic_store(&header->consumer, GONE);
  for (uint32_t index = 0; index < header->producers; index++) wake(&slot_of(base, (int)index)->producer_parked);
}

int cipc_channel_attach_producer(void *base) {
  struct header *header = header_of(base);
  uint64_t self = cipc_channel_identity();
  for (uint32_t index = 0; index < header->producers; index++) {
    struct slot *slot = slot_of(base, (int)index);
    uint64_t owner = atomic_load(&slot->owner);
    // A free slot: never used, given up, or its producer died; and read to
    // the end, so records of the old producer never mix with the new one's.
    if (owner != NEVER && alive(owner)) continue;
    if (atomic_load(&slot->head) != atomic_load(&slot->tail)) continue;
    if (atomic_compare_exchange_strong(&slot->owner, &owner, self)) {
      atomic_store(&header->producers_seen, 1);
      return (int)index;
    }
  }
  return -EBUSY;
}

void cipc_channel_detach_producer(void *base, int slot) {
  struct header *header = header_of(base);
  if (slot < 0 || (uint32_t)slot >= header->producers) return;
  atomic_store(&slot_of(base, slot)->owner, GONE);
  wake(&header->consumer_parked);  // it may be waiting for the end of the stream
}

/// Whether the consumer is gone for good (it attached once, and detached or
/// died); `checking_life` asks the kernel too (system calls: only when waiting).
static int consumer_gone(struct header *header, int checking_life) {
  uint64_t consumer = atomic_load_explicit(&header->consumer, memory_order_acquire);
  return consumer == GONE || (checking_life && consumer != NEVER && !alive(consumer));
}

/// Where the next record of `index` goes: `*skip` bytes to skip to the
/// ring's end first (0 if it fits before), and the bytes needed in all.
static uint64_t needed(uint64_t size, uint64_t tail, size_t count, uint64_t *skip) {
  uint64_t offset = tail & (size - 1);
  uint64_t record = 8 + padded(count);
  *skip = size - offset < record ? size - offset : 0;
  return *skip + record;
}

static int has_room(struct slot *slot, uint64_t size, uint64_t tail, uint64_t need) {
  return size - (tail - atomic_load_explicit(&slot->head, memory_order_acquire)) >= need;
}

/// Waits until `slot` has `need` bytes of room after `tail`: 0, -EPIPE,
/// -EAGAIN, -EINTR.
static int wait_room(struct header *header, struct slot *slot, uint64_t tail, uint64_t need, int64_t timeout_ns) {
  uint64_t size = header->ring;
  int64_t deadline = deadline_of(timeout_ns);
  int64_t start = 0;
  int steps = 0, parked = 0, checking = 1;
  while (!has_room(slot, size, tail, need)) {
    // Whether the consumer still lives, asked of the kernel when the wait
    // starts and after each park (system calls: not on every spin).
    if (consumer_gone(header, checking)) return -EPIPE;
    checking = 0;
    if (timeout_ns == 0) return -EAGAIN;
    if (!parked && spinning(PRODUCING, &start, &steps)) continue;
    int64_t wait = park_time(timeout_ns, deadline);
    if (wait <= 0) {
      learn(PRODUCING, start, 1, 0);
      return -EAGAIN;
    }
    atomic_store(&slot->producer_parked, 1);
    atomic_thread_fence(memory_order_seq_cst);
    parked = checking = 1;
    if (has_room(slot, size, tail, need)) break;
    if (park(&slot->producer_parked, wait) == -EINTR) return -EINTR;
  }
  learn(PRODUCING, start, parked, 1);
  return consumer_gone(header, 0) ? -EPIPE : 0;
}

/// Publishes a record of `count` bytes, already written, at `tail` (+ `skip`).
static void publish(void *base, int index, uint64_t tail, uint64_t skip, size_t count) {
  struct slot *slot = slot_of(base, index);
  unsigned char *ring = ring_of(base, index);
  uint64_t offset = tail & (header_of(base)->ring - 1);
  if (skip) {
    uint32_t mark = SKIP;
    memcpy(ring + offset, &mark, sizeof mark);
    offset = 0;
  }
  uint32_t length = (uint32_t)count;
  uint32_t zero = 0;
  memcpy(ring + offset, &length, 4);
  memcpy(ring + offset + 4, &zero, 4);
  atomic_store_explicit(&slot->tail, tail + skip + 8 + padded(count), memory_order_release);
  wake(&header_of(base)->consumer_parked);
}

int cipc_channel_reserve(void *base, int index, size_t count, int64_t timeout_ns, void **bytes) {
  struct header *header = header_of(base);
  if (index < 0 || (uint32_t)index >= header->producers) return -EINVAL;
  if (count > cipc_channel_max_message(base)) return -EMSGSIZE;
  struct slot *slot = slot_of(base, index);
  uint64_t size = header->ring;
  uint64_t tail = atomic_load_explicit(&slot->tail, memory_order_relaxed);
  uint64_t skip;
  uint64_t need = needed(size, tail, count, &skip);
  if (!has_room(slot, size, tail, need) || consumer_gone(header, 0)) {
    int waited = wait_room(header, slot, tail, need, timeout_ns);
    if (waited) return waited;
  }
  if (bytes) *bytes = ring_of(base, index) + (skip ? 0 : tail & (size - 1)) + 8;
  return 0;
}

int cipc_channel_commit(void *base, int index, size_t reserved, size_t used) {
  struct header *header = header_of(base);
  if (index < 0 || (uint32_t)index >= header->producers) return -EINVAL;
  if (used > reserved || reserved > cipc_channel_max_message(base)) return -EINVAL;
  struct slot *slot = slot_of(base, index);
  uint64_t size = header->ring;
  uint64_t tail = atomic_load_explicit(&slot->tail, memory_order_relaxed);
  uint64_t skip;
  uint64_t need = needed(size, tail, reserved, &skip);
  if (!has_room(slot, size, tail, need)) return -EINVAL;
  if (consumer_gone(header, 0)) return -EPIPE;
  // The payload is where the reservation put it: after the skip, if the
  // reserved size needed one, even if the used size would have fitted.
  publish(base, index, tail, skip, used);
  return 0;
}

int cipc_channel_send(void *base, int index, const void *bytes, size_t count, int64_t timeout_ns) {
  void *place = NULL;
  int status = cipc_channel_reserve(base, index, count, timeout_ns, &place);
  if (status) return status;
  if (count) memcpy(place, bytes, count);
  return cipc_channel_commit(base, index, count, count);
}

/// The next record of `slot` if one is committed: its length, with `*payload`
/// set, or -1. Skips (consumed) on the way.
static int64_t next_record(void *base, int index, const unsigned char **payload) {
  struct slot *slot = slot_of(base, index);
  unsigned char *ring = ring_of(base, index);
  uint64_t size = header_of(base)->ring;
  uint64_t head = atomic_load_explicit(&slot->head, memory_order_relaxed);
  for (;;) {
    uint64_t tail = atomic_load_explicit(&slot->tail, memory_order_acquire);
    if (head == tail) return -1;
    uint64_t offset = head & (size - 1);
    uint32_t length;
    memcpy(&length, ring + offset, 4);
    if (length == SKIP) {
      head += size - offset;
      atomic_store_explicit(&slot->head, head, memory_order_release);
      continue;
    }
    *payload = ring + offset + 8;
    return length;
  }
}

/// Consumes the record at the head of `slot` (its length `length`).
static void consume(void *base, int index, uint32_t length) {
  struct slot *slot = slot_of(base, index);
  uint64_t head = atomic_load_explicit(&slot->head, memory_order_relaxed);
  atomic_store_explicit(&slot->head, head + 8 + padded(length), memory_order_release);
  wake(&slot->producer_parked);
}

/// Whether producers came and every one is gone (given up or dead).
static int ended(void *base) {
  struct header *header = header_of(base);
  if (!atomic_load(&header->producers_seen)) return 0;
  for (uint32_t index = 0; index < header->producers; index++) {
    uint64_t owner = atomic_load(&slot_of(base, (int)index)->owner);
    if (owner != NEVER && alive(owner)) return 0;
  }
  return 1;
}

static int any_ready(void *base) {
  struct header *header = header_of(base);
  for (uint32_t index = 0; index < header->producers; index++) {
    struct slot *slot = slot_of(base, (int)index);
    if (atomic_load_explicit(&slot->head, memory_order_relaxed) !=
        atomic_load_explicit(&slot->tail, memory_order_acquire))
      return 1;
  }
  return 0;
}

/// Waits until some ring holds a record: 0, -EPIPE, -EAGAIN, -EINTR.
static int wait_message(void *base, int64_t timeout_ns, int64_t deadline) {
  struct header *header = header_of(base);
  int64_t start = 0;
  int steps = 0, parked = 0;
  for (;;) {
    if (any_ready(base)) {
      learn(CONSUMING, start, parked, 1);
      return 0;
    }
    if (timeout_ns != 0 && !parked && spinning(CONSUMING, &start, &steps)) continue;
    // Nothing now: the end of the stream, if every producer is gone (after
    // one more look, since a producer may commit and then give up).
    if (ended(base)) return any_ready(base) ? 0 : -EPIPE;
    if (timeout_ns == 0) return -EAGAIN;
    int64_t wait = park_time(timeout_ns, deadline);
    if (wait <= 0) {
      learn(CONSUMING, start, 1, 0);
      return -EAGAIN;
    }
    atomic_store(&header->consumer_parked, 1);
    atomic_thread_fence(memory_order_seq_cst);
    parked = 1;
    if (!any_ready(base) && park(&header->consumer_parked, wait) == -EINTR) return -EINTR;
  }
}

int cipc_channel_wait_message(void *base, int64_t timeout_ns) {
  return wait_message(base, timeout_ns, deadline_of(timeout_ns));
}

// Where the last search stopped: each producer gets its turn.
static _Thread_local int next;

/// The next record of any ring, producers in turn: its length and slot, or -1.
static int64_t next_of_any(void *base, int *index, const unsigned char **payload) {
  int producers = (int)header_of(base)->producers;
  for (int turn = 0; turn < producers; turn++) {
    int candidate = (next + turn) % producers;
    int64_t length = next_record(base, candidate, payload);
    if (length >= 0) {
      next = (candidate + 1) % producers;
      *index = candidate;
      return length;
    }
  }
  return -1;
}

int64_t cipc_channel_peek(void *base, int64_t timeout_ns, int *slot, const void **bytes) {
  int64_t deadline = deadline_of(timeout_ns);
  for (;;) {
    const unsigned char *payload;
    int64_t length = next_of_any(base, slot, &payload);
    if (length >= 0) {
      *bytes = payload;
      return length;
    }
    int waited = wait_message(base, timeout_ns, deadline);
    if (waited) return waited;
  }
}

void cipc_channel_release(void *base, int index) {
  const unsigned char *payload;
  if (index < 0 || (uint32_t)index >= header_of(base)->producers) return;
  int64_t length = next_record(base, index, &payload);
  if (length >= 0) consume(base, index, (uint32_t)length);
}

int64_t cipc_channel_receive(void *base, void *buffer, size_t capacity, int64_t timeout_ns) {
  int64_t deadline = deadline_of(timeout_ns);
  for (;;) {
    int index;
    const unsigned char *payload;
    int64_t length = next_of_any(base, &index, &payload);
    if (length >= 0) {
      if ((uint64_t)length > capacity) return length;  // the caller comes back with room
      if (length) memcpy(buffer, payload, (size_t)length);
      consume(base, index, (uint32_t)length);
      return length;
    }
    int waited = wait_message(base, timeout_ns, deadline);
    if (waited) return waited;
  }
}
