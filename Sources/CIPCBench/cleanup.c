#include "CIPCBench.h"

#include <errno.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

// The objects of the measurement in progress, removed by whoever gets there
// first: the measurement itself, the watchdog thread, or the handler of a
// signal that ends the run. Only the main thread adds and removes entries
// (with the handled signals blocked), the watchdog thread never runs the
// handler, so the handler sees whole entries.

enum { slot_free = 0, slot_sysv, slot_mq, slot_path, slot_semset, slot_sem, slot_shm };

static struct {
  volatile sig_atomic_t kind;
  int id;
  char name[256];
} slots[16];

// The measurement's children (most rows have one; the 2-producer rows two).
static volatile sig_atomic_t child_pids[4];

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void handled_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++) {
    sigaddset(set, handled_signals[i]);
  }
}

static int remove_object(int kind, int id, const char *name) {
  int status = 0;
  switch (kind) {
    case slot_sysv: status = msgctl(id, IPC_RMID, NULL); break;
    case slot_mq: status = mq_unlink(name); break;
    case slot_path: status = unlink(name); break;
    case slot_semset: status = semctl(id, 0, IPC_RMID); break;
    case slot_sem: status = sem_unlink(name); break;
    // Destroyed at the last detach: a killed child detaches by dying.
    case slot_shm: status = shmctl(id, IPC_RMID, NULL); break;
    default: return 0;
  }
  return status == 0 ? 0 : -errno;
}

static int add(int kind, int id, const char *name) {
  if (name != NULL && strlen(name) >= sizeof slots[0].name) return -ENAMETOOLONG;
  sigset_t blocked, previous;
  handled_set(&blocked);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  int slot = -ENOSPC;
  for (int i = 0; i < (int)(sizeof slots / sizeof slots[0]); i++) {
    if (slots[i].kind != slot_free) continue;
    slots[i].id = id;
    strcpy(slots[i].name, name != NULL ? name : "");
    slots[i].kind = kind;
    slot = i;
    break;
  }
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  return slot;
}

int cipcb_cleanup_add_sysv(int queue) { return add(slot_sysv, queue, NULL); }

int cipcb_cleanup_add_mq(const char *name) { return add(slot_mq, 0, name); }

int cipcb_cleanup_add_path(const char *path) { return add(slot_path, 0, path); }

int cipcb_cleanup_add_semset(int set) { return add(slot_semset, set, NULL); }

int cipcb_cleanup_add_sem(const char *name) { return add(slot_sem, 0, name); }

int cipcb_cleanup_add_shm(int segment) { return add(slot_shm, segment, NULL); }

int cipcb_cleanup_remove(int slot) {
  if (slot < 0 || slot >= (int)(sizeof slots / sizeof slots[0])) return -EINVAL;
  sigset_t blocked, previous;
  handled_set(&blocked);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  int status = remove_object(slots[slot].kind, slots[slot].id, slots[slot].name);
  slots[slot].kind = slot_free;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  // Removed by someone else first (the watchdog, or a removal that failed
  // half-way): gone is gone.
  return status == -ENOENT || status == -EINVAL || status == -EIDRM ? 0 : status;
}

int cipcb_cleanup_remove_now(int slot) {
  // For the watchdog thread: removes the object but leaves the entry to the
  // main thread, which forgets it with cipcb_cleanup_remove.
  if (slot < 0 || slot >= (int)(sizeof slots / sizeof slots[0])) return -EINVAL;
  return remove_object(slots[slot].kind, slots[slot].id, slots[slot].name);
}

void cipcb_cleanup_set_child(int peer, int pid) {
  if (peer >= 0 && peer < (int)(sizeof child_pids / sizeof child_pids[0])) child_pids[peer] = pid;
}

static void on_signal(int signal) {
  int saved = errno;
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
    remove_object(slots[i].kind, slots[i].id, slots[i].name);
  }
  for (size_t i = 0; i < sizeof child_pids / sizeof child_pids[0]; i++) {
    if (child_pids[i] > 0) kill(child_pids[i], SIGKILL);
  }
  // End the way the signal would have: the caller sees 128 + signal.
  struct sigaction action = {.sa_handler = SIG_DFL};
  sigaction(signal, &action, NULL);
  raise(signal);
  errno = saved;
}

int cipcb_cleanup_install(void) {
  struct sigaction action = {.sa_handler = on_signal};
  handled_set(&action.sa_mask);
  for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++) {
    if (sigaction(handled_signals[i], &action, NULL) != 0) return -errno;
  }
  // A peer that is gone makes write() fail with EPIPE, which the loops report.
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  if (sigaction(SIGPIPE, &ignore, NULL) != 0) return -errno;
  sigset_t handled;
  handled_set(&handled);
  return -pthread_sigmask(SIG_UNBLOCK, &handled, NULL);
}

void cipcb_cleanup_hold_signals(int hold) {
  sigset_t handled;
  handled_set(&handled);
  pthread_sigmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &handled, NULL);
}

void cipcb_cleanup_block_signals(void) {
  sigset_t blocked;
  handled_set(&blocked);
  pthread_sigmask(SIG_BLOCK, &blocked, NULL);
}
