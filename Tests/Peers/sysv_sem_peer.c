/*
 * A peer written in plain C against the raw System V semaphore calls, to
 * prove that the Swift library's semaphore sets interoperate with non-Swift
 * programs.
 *
 *   sysv_sem_peer create KEY V0,V1,...    semget(KEY, n, IPC_CREAT | IPC_EXCL | 0600), then
 *                                         semctl(SETALL); no semop, so sem_otime stays 0;
 *                                         prints the id
 *   sysv_sem_peer get ID                  semctl(GETALL); prints "V0,V1,..."
 *   sysv_sem_peer set ID INDEX VALUE      semctl(SETVAL)
 *   sysv_sem_peer op ID OPS [undo] [nowait] [timeout=MS]
 *                                         one semop (semtimedop with timeout=MS) of OPS,
 *                                         "INDEX:DELTA,..." such as "0:-1,1:+1"; undo and
 *                                         nowait add SEM_UNDO and IPC_NOWAIT to every operation
 *   sysv_sem_peer hold ID INDEX SECONDS   P on INDEX with SEM_UNDO, prints "held", then sleeps
 *                                         SECONDS (a test kills it meanwhile)
 *   sysv_sem_peer stat ID                 semctl(IPC_STAT); prints "nsems=N mode=0MODE otime=set|0"
 *   sysv_sem_peer remove ID               semctl(IPC_RMID)
 *
 * Exits 0 on success; 1 on a failed call, with "CALL: ERRNONAME (text)" on
 * stderr (EAGAIN for a nowait op that would block or a semtimedop that timed
 * out, EIDRM for a set removed while waiting); 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

/* The caller defines union semun (semctl(2)). */
union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

static int usage(void) { return usage_error("see the comment at the top of sysv_sem_peer.c"); }

static int count_of(int id) {
  struct semid_ds info;
  union semun argument = {.buf = &info};
  if (semctl(id, 0, IPC_STAT, argument) < 0) return -1;
  return (int)info.sem_nsems;
}

static int create(const char *key_text, char *values_text) {
  long key;
  if (!number(key_text, &key)) return usage();
  unsigned short values[256];
  int count = 0;
  for (char *item = strtok(values_text, ","); item; item = strtok(NULL, ",")) {
    long value;
    if (count == 256 || !number(item, &value) || value < 0 || value > 65535) return usage();
    values[count++] = (unsigned short)value;
  }
  if (count == 0) return usage();
  int id = semget((key_t)key, count, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) return fail("semget");
  union semun argument = {.array = values};
  if (semctl(id, 0, SETALL, argument) < 0) {
    int code = errno;
    semctl(id, 0, IPC_RMID);
    errno = code;
    return fail("semctl(SETALL)");
  }
  printf("%d\n", id);
  return 0;
}

static int get(int id) {
  int count = count_of(id);
  if (count < 0) return fail("semctl(IPC_STAT)");
  unsigned short values[count];
  union semun argument = {.array = values};
  if (semctl(id, 0, GETALL, argument) < 0) return fail("semctl(GETALL)");
  for (int i = 0; i < count; i++) printf("%s%u", i ? "," : "", values[i]);
  printf("\n");
  return 0;
}

static int op(int id, char *operations_text, int argc, char **argv) {
  short flags = 0;
  long timeout_ms = -1;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "undo") == 0) {
      flags |= SEM_UNDO;
    } else if (strcmp(argv[i], "nowait") == 0) {
      flags |= IPC_NOWAIT;
    } else if (strncmp(argv[i], "timeout=", 8) == 0) {
      if (!number(argv[i] + 8, &timeout_ms) || timeout_ms < 0) return usage();
    } else {
      return usage();
    }
  }
  struct sembuf operations[64];
  size_t count = 0;
  for (char *item = strtok(operations_text, ","); item; item = strtok(NULL, ",")) {
    char *colon = strchr(item, ':');
    long index, delta;
    if (count == 64 || !colon) return usage();
    *colon = '\0';
    if (!number(item, &index) || !number(colon + 1, &delta)) return usage();
    operations[count].sem_num = (unsigned short)index;
    operations[count].sem_op = (short)delta;
    operations[count].sem_flg = flags;
    count++;
  }
  if (count == 0) return usage();
  if (timeout_ms >= 0) {
    struct timespec timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
    if (semtimedop(id, operations, count, &timeout) < 0) return fail("semtimedop");
    return 0;
  }
  while (semop(id, operations, count) < 0) {
    if (errno != EINTR) return fail("semop");
  }
  return 0;
}

static int hold(int id, long index, long seconds) {
  struct sembuf take = {(unsigned short)index, -1, SEM_UNDO};
  while (semop(id, &take, 1) < 0) {
    if (errno != EINTR) return fail("semop");
  }
  printf("held\n");
  fflush(stdout);
  sleep((unsigned)seconds);
  return 0;
}

static int status(int id) {
  struct semid_ds info;
  union semun argument = {.buf = &info};
  if (semctl(id, 0, IPC_STAT, argument) < 0) return fail("semctl(IPC_STAT)");
  printf("nsems=%lu mode=%04o otime=%s\n", (unsigned long)info.sem_nsems,
         (unsigned)info.sem_perm.mode & 0777, info.sem_otime ? "set" : "0");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *command = argv[1];
  if (strcmp(command, "create") == 0) return argc == 4 ? create(argv[2], argv[3]) : usage();
  long id;
  if (!number(argv[2], &id)) return usage();
  if (strcmp(command, "get") == 0 && argc == 3) return get((int)id);
  if (strcmp(command, "stat") == 0 && argc == 3) return status((int)id);
  if (strcmp(command, "remove") == 0 && argc == 3) {
    return semctl((int)id, 0, IPC_RMID) == 0 ? 0 : fail("semctl(IPC_RMID)");
  }
  if (strcmp(command, "op") == 0 && argc >= 4) return op((int)id, argv[3], argc - 4, argv + 4);
  long index, value;
  if (argc != 5 || !number(argv[3], &index) || !number(argv[4], &value)) return usage();
  if (strcmp(command, "hold") == 0) return hold((int)id, index, value);
  if (strcmp(command, "set") == 0) {
    union semun argument = {.val = (int)value};
    return semctl((int)id, (int)index, SETVAL, argument) == 0 ? 0 : fail("semctl(SETVAL)");
  }
  return usage();
}
