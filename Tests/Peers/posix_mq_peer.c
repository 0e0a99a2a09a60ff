/*
 * A peer written in plain C against the raw POSIX message queue calls, to
 * prove that the Swift library's queues interoperate with non-Swift programs.
 *
 *   posix_mq_peer create NAME MAXMSG MSGSIZE   mq_open(O_CREAT | O_EXCL, 0600)
 *   posix_mq_peer send NAME PRIORITY HEX       mq_send the bytes HEX encodes
 *   posix_mq_peer receive NAME                 mq_receive (blocking); prints "PRIORITY\tHEX"
 *   posix_mq_peer stat NAME                    prints "MAXMSG MSGSIZE CURMSGS"
 *   posix_mq_peer unlink NAME                  mq_unlink
 *
 * Exits 0 on success, 1 with the call and errno text on stderr on failure, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *call) {
  fprintf(stderr, "%s: %s\n", call, strerror(errno));
  return 1;
}

static int usage(void) {
  fprintf(stderr, "usage: posix_mq_peer create|send|receive|stat|unlink NAME ...\n");
  return 2;
}

static mqd_t open_queue(const char *name, int flags) {
  mqd_t queue = mq_open(name, flags);
  if (queue == (mqd_t)-1) fail("mq_open");
  return queue;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *command = argv[1], *name = argv[2];
  if (strcmp(command, "create") == 0 && argc == 5) {
    struct mq_attr attributes = {0};
    attributes.mq_maxmsg = atol(argv[3]);
    attributes.mq_msgsize = atol(argv[4]);
    mqd_t queue = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attributes);
    if (queue == (mqd_t)-1) return fail("mq_open");
    return mq_close(queue) == 0 ? 0 : fail("mq_close");
  }
  if (strcmp(command, "send") == 0 && argc == 5) {
    const char *hex = argv[4];
    size_t size = strlen(hex) / 2;
    char *bytes = malloc(size + 1);
    for (size_t i = 0; i < size; i++) {
      unsigned value;
      if (sscanf(hex + 2 * i, "%2x", &value) != 1) return usage();
      bytes[i] = (char)value;
    }
    mqd_t queue = open_queue(name, O_WRONLY);
    if (queue == (mqd_t)-1) return 1;
    if (mq_send(queue, bytes, size, (unsigned)atoi(argv[3])) != 0) return fail("mq_send");
    free(bytes);
    return 0;
  }
  if (strcmp(command, "receive") == 0 && argc == 3) {
    mqd_t queue = open_queue(name, O_RDONLY);
    if (queue == (mqd_t)-1) return 1;
    struct mq_attr attributes;
    if (mq_getattr(queue, &attributes) != 0) return fail("mq_getattr");
    char *bytes = malloc((size_t)attributes.mq_msgsize);
    unsigned priority;
    ssize_t size;
    while ((size = mq_receive(queue, bytes, (size_t)attributes.mq_msgsize, &priority)) < 0) {
      if (errno != EINTR) return fail("mq_receive");
    }
    printf("%u\t", priority);
    for (ssize_t i = 0; i < size; i++) printf("%02x", (unsigned char)bytes[i]);
    printf("\n");
    free(bytes);
    return 0;
  }
  if (strcmp(command, "stat") == 0 && argc == 3) {
    mqd_t queue = open_queue(name, O_RDONLY);
    if (queue == (mqd_t)-1) return 1;
    struct mq_attr attributes;
    if (mq_getattr(queue, &attributes) != 0) return fail("mq_getattr");
    printf("%ld %ld %ld\n", attributes.mq_maxmsg, attributes.mq_msgsize, attributes.mq_curmsgs);
    return 0;
  }
  if (strcmp(command, "unlink") == 0 && argc == 3) {
    return mq_unlink(name) == 0 ? 0 : fail("mq_unlink");
  }
  return usage();
}
