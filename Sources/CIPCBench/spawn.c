#include "CIPCBench.h"

#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int cipcb_spawn_wait(const char *path, long count, int *failed) {
  char *argv[] = {(char *)path, NULL};
  *failed = 0;
  for (long i = 0; i < count; i++) {
    pid_t pid;
    int status = posix_spawn(&pid, path, NULL, NULL, argv, environ);
    if (status != 0) return -status;
    while (waitpid(pid, &status, 0) == -1) {
      if (errno != EINTR) return -errno;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      *failed = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return 0;
    }
  }
  return 0;
}
