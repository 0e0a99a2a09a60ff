/*
 * A peer written in plain C against the raw POSIX shared memory calls, to
 * prove that the Swift library's shared memory objects interoperate with
 * non-Swift programs.
 *
 *   posix_shm_peer create NAME SIZE MODE     shm_open(NAME, O_RDWR | O_CREAT | O_EXCL, MODE), fchmod
 *                                            (so the umask does not narrow MODE, octal such as
 *                                            0640), ftruncate(SIZE)
 *   posix_shm_peer stat NAME                 fstat; prints "size=N mode=0MODE"
 *   posix_shm_peer read NAME OFFSET COUNT    mmap(PROT_READ) of an O_RDONLY opening; prints the
 *                                            COUNT bytes at OFFSET as they are, then "\n"
 *   posix_shm_peer write NAME OFFSET TEXT    mmap(PROT_READ | PROT_WRITE); copies TEXT (without
 *                                            its NUL) to OFFSET
 *   posix_shm_peer load NAME OFFSET          prints the int64_t at OFFSET
 *   posix_shm_peer store NAME OFFSET VALUE   stores the int64_t VALUE at OFFSET
 *   posix_shm_peer add NAME OFFSET TIMES [GO]
 *                                            with GO, prints "ready" and spins until the int64_t at
 *                                            GO is not 0 (atomic_load); then TIMES times
 *                                            atomic_fetch_add(int64_t at OFFSET, 1); prints
 *                                            "interleaved=N", how often another process added
 *                                            between two of its own additions
 *   posix_shm_peer unlink NAME               shm_unlink
 *
 * Every mapping is MAP_SHARED and covers the whole object (its size read with
 * fstat); OFFSET + the bytes used must lie inside it, and int64_t offsets be
 * multiples of 8. Exits 0 on success; 1 on a failed call, with
 * "CALL: ERRNONAME (text)" on stderr (ENOENT for a name without an object,
 * EEXIST for a name taken); 2 on usage or a range outside the object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"

static int usage(void) { return usage_error("see the comment at the top of posix_shm_peer.c"); }

/* A whole-object mapping; `at` is the byte at the offset asked for. */
struct mapping {
  char *base;
  size_t size;
  char *at;
};

/*
 * Maps object `name` whole after checking that `count` bytes at `offset` lie
 * inside it and that `offset` is a multiple of `alignment`. Returns 0, or the
 * exit status (1 failed call, 2 range).
 */
static int map(const char *name, int writable, long offset, long count, long alignment, struct mapping *out) {
  int fd = shm_open(name, writable ? O_RDWR : O_RDONLY, 0);
  if (fd < 0) return fail("shm_open");
  struct stat info;
  if (fstat(fd, &info) < 0) return fail("fstat");
  long size = (long)info.st_size;
  if (offset < 0 || count < 0 || count > size || offset > size - count || offset % alignment != 0) {
    fprintf(stderr, "range: %ld bytes at offset %ld do not fit the %ld-byte object\n", count, offset, size);
    close(fd);
    return 2;
  }
  void *base = mmap(NULL, (size_t)size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return fail("mmap");
  close(fd);  // the mapping stays
  out->base = base;
  out->size = (size_t)size;
  out->at = (char *)base + offset;
  return 0;
}

static int unmap(struct mapping *mapping) {
  return munmap(mapping->base, mapping->size) == 0 ? 0 : fail("munmap");
}

static int create(const char *name, long size, long mode) {
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, (mode_t)(mode & 0777));
  if (fd < 0) return fail("shm_open");
  if (fchmod(fd, (mode_t)(mode & 0777)) < 0 || ftruncate(fd, (off_t)size) < 0) {
    int result = fail("fchmod/ftruncate");
    shm_unlink(name);
    return result;
  }
  return close(fd) == 0 ? 0 : fail("close");
}

static int status(const char *name) {
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd < 0) return fail("shm_open");
  struct stat info;
  if (fstat(fd, &info) < 0) return fail("fstat");
  printf("size=%lld mode=%04o\n", (long long)info.st_size, (unsigned)info.st_mode & 0777);
  return close(fd) == 0 ? 0 : fail("close");
}

static int add(const char *name, long offset, long times, long go_offset) {
  struct mapping counter, flag;
  int result = map(name, 1, offset, 8, 8, &counter);
  if (result) return result;
  if (go_offset >= 0) {
    /* The flag must lie inside the object too: map again to check it. */
    if ((result = map(name, 0, go_offset, 8, 8, &flag))) return result;
    printf("ready\n");
    fflush(stdout);
    while (atomic_load((_Atomic int64_t *)flag.at) == 0) {
    }
    if ((result = unmap(&flag))) return result;
  }
  long interleaved = 0;
  int64_t previous = 0;
  for (long i = 0; i < times; i++) {
    int64_t before = atomic_fetch_add((_Atomic int64_t *)counter.at, 1);
    if (i > 0 && before != previous + 1) interleaved++;
    previous = before;
  }
  printf("interleaved=%ld\n", interleaved);
  return unmap(&counter);
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *command = argv[1], *name = argv[2];
  if (strcmp(command, "stat") == 0 && argc == 3) return status(name);
  if (strcmp(command, "unlink") == 0 && argc == 3) return shm_unlink(name) == 0 ? 0 : fail("shm_unlink");
  long second, third;
  if (argc < 4 || !number(argv[3], &second)) return usage();
  struct mapping mapping;
  int result;
  if (strcmp(command, "load") == 0 && argc == 4) {
    if ((result = map(name, 0, second, 8, 8, &mapping))) return result;
    int64_t value;
    memcpy(&value, mapping.at, sizeof value);
    printf("%lld\n", (long long)value);
    return unmap(&mapping);
  }
  if (strcmp(command, "write") == 0 && argc == 5) {
    long count = (long)strlen(argv[4]);
    if ((result = map(name, 1, second, count, 1, &mapping))) return result;
    memcpy(mapping.at, argv[4], (size_t)count);
    return unmap(&mapping);
  }
  if (argc < 5 || !number(argv[4], &third)) return usage();
  if (strcmp(command, "create") == 0 && argc == 5) return create(name, second, third);
  if (strcmp(command, "read") == 0 && argc == 5) {
    if ((result = map(name, 0, second, third, 1, &mapping))) return result;
    fwrite(mapping.at, 1, (size_t)third, stdout);
    printf("\n");
    return unmap(&mapping);
  }
  if (strcmp(command, "store") == 0 && argc == 5) {
    if ((result = map(name, 1, second, 8, 8, &mapping))) return result;
    int64_t value = (int64_t)third;
    memcpy(mapping.at, &value, sizeof value);
    return unmap(&mapping);
  }
  if (strcmp(command, "add") == 0 && (argc == 5 || argc == 6)) {
    long go = -1;
    if (argc == 6 && (!number(argv[5], &go) || go < 0)) return usage();
    return add(name, second, third, go);
  }
  return usage();
}
