/*
 * What every plain-C test peer shares: how it reports a failed call (the
 * errno's name, which the Swift tests match) and a usage error, and how it
 * reads a number. Static inline, so a peer that uses only some of them still
 * compiles under -Wall -Wextra -Werror.
 */
#ifndef IPC_TEST_PEER_H
#define IPC_TEST_PEER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *errno_name(int code) {
  switch (code) {
  case E2BIG: return "E2BIG";
  case EACCES: return "EACCES";
  case EAGAIN: return "EAGAIN";
  case EEXIST: return "EEXIST";
  case EFAULT: return "EFAULT";
  case EFBIG: return "EFBIG";
  case EIDRM: return "EIDRM";
  case EINTR: return "EINTR";
  case EINVAL: return "EINVAL";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case ENOENT: return "ENOENT";
  case ENOMEM: return "ENOMEM";
  case ENOSPC: return "ENOSPC";
  case EOVERFLOW: return "EOVERFLOW";
  case EPERM: return "EPERM";
  case ERANGE: return "ERANGE";
  default: return "E?";
  }
}

/* Reports the failed `call` as "CALL: ERRNONAME (text)" on stderr; exit status 1. */
static inline int fail(const char *call) {
  int code = errno;
  fprintf(stderr, "%s: %s (%s)\n", call, errno_name(code), strerror(code));
  return 1;
}

/* Reports a usage error; exit status 2. */
static inline int usage_error(const char *text) {
  fprintf(stderr, "usage: %s\n", text);
  return 2;
}

/* A whole number, decimal, 0x hexadecimal or 0 octal, or false. */
static inline int number(const char *text, long *value) {
  char *end;
  errno = 0;
  *value = strtol(text, &end, 0);
  return errno == 0 && end != text && *end == '\0';
}

#endif
