/*
 * A peer written in plain C against the raw POSIX named semaphore calls, to
 * prove that the Swift library's semaphores interoperate with non-Swift
 * programs.
 *
 *   posix_sem_peer create NAME VALUE   sem_open(NAME, O_CREAT | O_EXCL, 0600, VALUE)
 *   posix_sem_peer wait NAME           sem_wait (blocking)
 *   posix_sem_peer trywait NAME        sem_trywait
 *   posix_sem_peer post NAME           sem_post
 *   posix_sem_peer value NAME          sem_getvalue; prints the value
 *   posix_sem_peer unlink NAME         sem_unlink
 *
 * Every command but create opens the existing semaphore with sem_open(NAME, 0).
 * Exits 0 on success; 1 on a failed call, with "CALL: ERRNONAME (text)" on
 * stderr (EAGAIN for a trywait on 0, ENOENT for a name that does not exist);
 * 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

static int usage(void) {
  return usage_error("posix_sem_peer create|wait|trywait|post|value|unlink NAME [VALUE]");
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *command = argv[1], *name = argv[2];
  if (strcmp(command, "create") == 0) {
    char *end;
    unsigned long value = argc == 4 ? strtoul(argv[3], &end, 10) : 0;
    if (argc != 4 || end == argv[3] || *end != '\0') return usage();
    sem_t *semaphore = sem_open(name, O_CREAT | O_EXCL, 0600, (unsigned)value);
    if (semaphore == SEM_FAILED) return fail("sem_open");
    return sem_close(semaphore) == 0 ? 0 : fail("sem_close");
  }
  if (argc != 3) return usage();
  if (strcmp(command, "unlink") == 0) return sem_unlink(name) == 0 ? 0 : fail("sem_unlink");
  if (strcmp(command, "wait") != 0 && strcmp(command, "trywait") != 0 && strcmp(command, "post") != 0 &&
      strcmp(command, "value") != 0) {
    return usage();
  }
  sem_t *semaphore = sem_open(name, 0);
  if (semaphore == SEM_FAILED) return fail("sem_open");
  if (strcmp(command, "wait") == 0) {
    while (sem_wait(semaphore) != 0) {
      if (errno != EINTR) return fail("sem_wait");
    }
  } else if (strcmp(command, "trywait") == 0) {
    if (sem_trywait(semaphore) != 0) return fail("sem_trywait");
  } else if (strcmp(command, "post") == 0) {
    if (sem_post(semaphore) != 0) return fail("sem_post");
  } else {
    int value;
    if (sem_getvalue(semaphore, &value) != 0) return fail("sem_getvalue");
    printf("%d\n", value);
  }
  return sem_close(semaphore) == 0 ? 0 : fail("sem_close");
}
