/*
 * A peer written in plain C against the raw System V syscalls, to prove that
 * the Swift library's messages interoperate with non-Swift programs.
 *
 *   sysv_msg_peer send ID TYPE HEX        msgsnd the bytes HEX encodes, of type TYPE
 *   sysv_msg_peer receive ID MSGTYP       msgrcv (blocking); prints "TYPE\tHEX"
 *   sysv_msg_peer receive-except ID TYPE  msgrcv with MSG_EXCEPT; prints "TYPE\tHEX"
 *   sysv_msg_peer create KEY              msgget(KEY, IPC_CREAT | IPC_EXCL | 0600); prints the id
 *
 * Exits 0 on success, 1 with the errno name on stderr on failure, 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

struct message {
  long mtype;
  char mtext[65536];
};

static struct message buffer;

static int fail(const char *call) {
  fprintf(stderr, "%s: %s\n", call, strerror(errno));
  return 1;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static int print_message(ssize_t size) {
  printf("%ld\t", buffer.mtype);
  for (ssize_t i = 0; i < size; i++) printf("%02x", (unsigned char)buffer.mtext[i]);
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "create") == 0) {
    int id = msgget((key_t)strtol(argv[2], NULL, 0), IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) return fail("msgget");
    printf("%d\n", id);
    return 0;
  }
  if (argc != 4 && !(argc == 5 && strcmp(argv[1], "send") == 0)) {
    fprintf(stderr, "usage: see the comment at the top of sysv_msg_peer.c\n");
    return 2;
  }
  int id = atoi(argv[2]);
  if (strcmp(argv[1], "send") == 0) {
    const char *hex = argv[4];
    size_t size = strlen(hex) / 2;
    for (size_t i = 0; i < size; i++) {
      int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
      if (high < 0 || low < 0) return 2;
      buffer.mtext[i] = (char)(high * 16 + low);
    }
    buffer.mtype = atol(argv[3]);
    if (msgsnd(id, &buffer, size, 0) < 0) return fail("msgsnd");
    return 0;
  }
  if (strcmp(argv[1], "receive") == 0 || strcmp(argv[1], "receive-except") == 0) {
    int flags = strcmp(argv[1], "receive-except") == 0 ? MSG_EXCEPT : 0;
    ssize_t size = msgrcv(id, &buffer, sizeof buffer.mtext, atol(argv[3]), flags);
    if (size < 0) return fail("msgrcv");
    return print_message(size);
  }
  fprintf(stderr, "unknown mode %s\n", argv[1]);
  return 2;
}
