/*
 * A peer written in plain C against the raw System V shared memory calls, to
 * prove that the Swift library's segments interoperate with non-Swift
 * programs.
 *
 *   sysv_shm_peer create KEY SIZE MODE     shmget(KEY, SIZE, IPC_CREAT | IPC_EXCL | MODE), MODE
 *                                          in octal such as 0640, KEY 0 for IPC_PRIVATE; prints the id
 *   sysv_shm_peer id KEY                   shmget(KEY, 0, 0); prints the id
 *   sysv_shm_peer stat ID                  shmctl(IPC_STAT); prints
 *                                          "size=N mode=0MODE nattch=N cpid=PID lpid=PID"
 *   sysv_shm_peer read ID OFFSET COUNT     shmat(SHM_RDONLY); prints the COUNT bytes at OFFSET as
 *                                          they are, then "\n"
 *   sysv_shm_peer write ID OFFSET TEXT     shmat; copies TEXT (without its NUL) to OFFSET
 *   sysv_shm_peer load ID OFFSET           shmat(SHM_RDONLY); prints the int64_t at OFFSET
 *   sysv_shm_peer store ID OFFSET VALUE    shmat; stores the int64_t VALUE at OFFSET
 *   sysv_shm_peer add ID OFFSET TIMES [GO] shmat; with GO, prints "ready" and spins until the int64_t
 *                                          at GO is not 0 (atomic_load); then TIMES times
 *                                          atomic_fetch_add(int64_t at OFFSET, 1); prints
 *                                          "interleaved=N", how often another process added between
 *                                          two of its own additions
 *   sysv_shm_peer remove ID                shmctl(IPC_RMID)
 *
 * OFFSET + the bytes used must lie inside the segment (its size read with
 * IPC_STAT), and int64_t offsets be multiples of 8. Exits 0 on success; 1 on
 * a failed call, with "CALL: ERRNONAME (text)" on stderr (ENOENT for a key
 * without a segment, EEXIST for a key taken, EINVAL for an id without a
 * segment); 2 on usage or a range outside the segment.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include "peer.h"

static int usage(void) { return usage_error("see the comment at the top of sysv_shm_peer.c"); }

/*
 * Attaches segment `id` after checking that `count` bytes at `offset` lie
 * inside it and that `offset` is a multiple of `alignment`. Returns the
 * address of byte `offset`, or NULL with *status set (1 failed call, 2 range).
 */
static char *attach(int id, int flags, long offset, long count, long alignment, int *status) {
  struct shmid_ds info;
  if (shmctl(id, IPC_STAT, &info) < 0) {
    *status = fail("shmctl(IPC_STAT)");
    return NULL;
  }
  long size = (long)info.shm_segsz;
  if (offset < 0 || count < 0 || count > size || offset > size - count || offset % alignment != 0) {
    fprintf(stderr, "range: %ld bytes at offset %ld do not fit the %ld-byte segment\n", count, offset, size);
    *status = 2;
    return NULL;
  }
  void *base = shmat(id, NULL, flags);
  if (base == (void *)-1) {
    *status = fail("shmat");
    return NULL;
  }
  return (char *)base + offset;
}

static int create(long key, long size, long mode) {
  int id = shmget((key_t)key, (size_t)size, IPC_CREAT | IPC_EXCL | (int)(mode & 0777));
  if (id < 0) return fail("shmget");
  printf("%d\n", id);
  return 0;
}

static int status(int id) {
  struct shmid_ds info;
  if (shmctl(id, IPC_STAT, &info) < 0) return fail("shmctl(IPC_STAT)");
  printf("size=%lu mode=%04o nattch=%lu cpid=%d lpid=%d\n", (unsigned long)info.shm_segsz,
         (unsigned)info.shm_perm.mode & 0777, (unsigned long)info.shm_nattch, (int)info.shm_cpid,
         (int)info.shm_lpid);
  return 0;
}

static int add(int id, long offset, long times, long go_offset) {
  int result = 0;
  char *at = attach(id, 0, offset, 8, 8, &result);
  if (!at) return result;
  _Atomic int64_t *counter = (_Atomic int64_t *)at;
  if (go_offset >= 0) {
    /* The flag must lie inside the segment too: attach again to check it. */
    char *flag = attach(id, SHM_RDONLY, go_offset, 8, 8, &result);
    if (!flag) return result;
    printf("ready\n");
    fflush(stdout);
    while (atomic_load((_Atomic int64_t *)flag) == 0) {
    }
    if (shmdt(flag - go_offset) != 0) return fail("shmdt");
  }
  long interleaved = 0;
  int64_t previous = 0;
  for (long i = 0; i < times; i++) {
    int64_t before = atomic_fetch_add(counter, 1);
    if (i > 0 && before != previous + 1) interleaved++;
    previous = before;
  }
  printf("interleaved=%ld\n", interleaved);
  return shmdt(at - offset) == 0 ? 0 : fail("shmdt");
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *command = argv[1];
  long first, second, third;
  if (!number(argv[2], &first)) return usage();
  if (strcmp(command, "create") == 0) {
    if (argc != 5 || !number(argv[3], &second) || !number(argv[4], &third)) return usage();
    return create(first, second, third);
  }
  if (strcmp(command, "id") == 0 && argc == 3) {
    int id = shmget((key_t)first, 0, 0);
    if (id < 0) return fail("shmget");
    printf("%d\n", id);
    return 0;
  }
  int id = (int)first;
  if (strcmp(command, "stat") == 0 && argc == 3) return status(id);
  if (strcmp(command, "remove") == 0 && argc == 3) {
    return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : fail("shmctl(IPC_RMID)");
  }
  if (argc < 4 || !number(argv[3], &second)) return usage();
  int result = 0;
  if (strcmp(command, "load") == 0 && argc == 4) {
    char *at = attach(id, SHM_RDONLY, second, 8, 8, &result);
    if (!at) return result;
    int64_t value;
    memcpy(&value, at, sizeof value);
    printf("%lld\n", (long long)value);
    return shmdt(at - second) == 0 ? 0 : fail("shmdt");
  }
  if (strcmp(command, "write") == 0 && argc == 5) {
    long count = (long)strlen(argv[4]);
    char *at = attach(id, 0, second, count, 1, &result);
    if (!at) return result;
    memcpy(at, argv[4], (size_t)count);
    return shmdt(at - second) == 0 ? 0 : fail("shmdt");
  }
  if (argc < 5 || !number(argv[4], &third)) return usage();
  if (strcmp(command, "read") == 0 && argc == 5) {
    char *at = attach(id, SHM_RDONLY, second, third, 1, &result);
    if (!at) return result;
    fwrite(at, 1, (size_t)third, stdout);
    printf("\n");
    return shmdt(at - second) == 0 ? 0 : fail("shmdt");
  }
  if (strcmp(command, "store") == 0 && argc == 5) {
    char *at = attach(id, 0, second, 8, 8, &result);
    if (!at) return result;
    int64_t value = (int64_t)third;
    memcpy(at, &value, sizeof value);
    return shmdt(at - second) == 0 ? 0 : fail("shmdt");
  }
  if (strcmp(command, "add") == 0 && (argc == 5 || argc == 6)) {
    long go = -1;
    if (argc == 6 && (!number(argv[5], &go) || go < 0)) return usage();
    return add(id, second, third, go);
  }
  return usage();
}
