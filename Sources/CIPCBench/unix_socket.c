#include "CIPCBench.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// Unix-domain sockets by name: the C side of the "unix-*" rows. A stream
// message is framed as the library frames it (and PipeEnd): a 4-byte
// little-endian length, then the payload, sent with one send() and read
// through the same read-ahead as the library's (receive_ahead, below). A
// seqpacket message is one record. Every call retries EINTR, as the Swift layer does; sends
// carry MSG_NOSIGNAL, so a vanished peer is -EPIPE, never SIGPIPE.

enum { header_size = 4 };
static char out[65536 + header_size], in[65536];

// "@name" is an abstract name (no file), anything else a path.
static int make_address(const char *text, struct sockaddr_un *address, socklen_t *length) {
  size_t count = strlen(text);
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (count >= sizeof address->sun_path) return -ENAMETOOLONG;
  memcpy(address->sun_path, text, count);
  if (text[0] == '@') {
    address->sun_path[0] = '\0';
    *length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + count);
  } else {
    *length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + count + 1);
  }
  return 0;
}

int cipcb_unix_listen(const char *address, int type, int backlog) {
  struct sockaddr_un name;
  socklen_t length;
  int status = make_address(address, &name, &length);
  if (status != 0) return status;
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&name, length) != 0 || listen(fd, backlog) != 0) {
    status = -errno;
    close(fd);
    return status;
  }
  return fd;
}

int cipcb_unix_connect(const char *address, int type) {
  struct sockaddr_un name;
  socklen_t length;
  int status = make_address(address, &name, &length);
  if (status != 0) return status;
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  while (connect(fd, (struct sockaddr *)&name, length) != 0) {
    if (errno == EINTR) continue;
    status = -errno;
    close(fd);
    return status;
  }
  return fd;
}

int cipcb_unix_accept(int listener) {
  int fd;
  while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0) {
    if (errno != EINTR) return -errno;
  }
  return fd;
}

int cipcb_unix_peer_pid(int fd) {
  struct ucred credentials;
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -errno;
  return credentials.pid;
}

int cipcb_unix_close(int fd) { return close(fd) == 0 ? 0 : -errno; }

static int send_all(int fd, const char *bytes, size_t size) {
  while (size > 0) {
    ssize_t sent = send(fd, bytes, size, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    bytes += sent;
    size -= (size_t)sent;
  }
  return 0;
}

// The peer closing its end in the middle of a message, or before it, is -EPIPE.
static int receive_all(int fd, char *bytes, size_t size) {
  while (size > 0) {
    ssize_t count = recv(fd, bytes, size, 0);
    if (count < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (count == 0) return -EPIPE;
    bytes += count;
    size -= (size_t)count;
  }
  return 0;
}

// The length in front of the payload, little-endian whatever the CPU.
static void put_length(char *header, size_t size) {
  uint32_t length = (uint32_t)size;
  for (int i = 0; i < header_size; i++) header[i] = (char)(length >> (8 * i));
}

static size_t get_length(const char *header) {
  uint32_t length = 0;
  for (int i = 0; i < header_size; i++) length |= (uint32_t)(unsigned char)header[i] << (8 * i);
  return length;
}

// One frame of `size` bytes from `payload`: copied behind its length and sent
// with one call, as the library sends a frame of up to 4092 bytes.
static int send_frame(int fd, const char *payload, size_t size) {
  put_length(out, size);
  if (payload != out + header_size) memcpy(out + header_size, payload, size);
  return send_all(fd, out, header_size + size);
}

// The read-ahead the library's stream receive has (UnixConnection): a read
// of under 1 KiB with nothing buffered takes what the socket holds, up to
// 8 KiB, in one recv, and the next reads are served from it; a larger one
// goes straight to its bytes. So the stream rows compare the same protocol
// read the same way. (The descriptor rows read each frame with one recvmsg,
// as the library's read-ahead does: receive_frame_with.)
static char ahead[8192];
static size_t ahead_start, ahead_end;

static int receive_ahead(int fd, char *bytes, size_t size) {
  while (size > 0) {
    if (ahead_start < ahead_end) {
      size_t count = ahead_end - ahead_start < size ? ahead_end - ahead_start : size;
      memcpy(bytes, ahead + ahead_start, count);
      ahead_start += count;
      bytes += count;
      size -= count;
      continue;
    }
    int buffered = size < 1024;
    ssize_t count = recv(fd, buffered ? ahead : bytes, buffered ? sizeof ahead : size, 0);
    if (count < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (count == 0) return -EPIPE;
    if (buffered) {
      ahead_start = 0;
      ahead_end = (size_t)count;
    } else {
      bytes += count;
      size -= (size_t)count;
    }
  }
  return 0;
}

// One frame, which must hold exactly `size` bytes (-EPROTO otherwise).
static int receive_frame(int fd, size_t size) {
  char header[header_size];
  int status = receive_ahead(fd, header, sizeof header);
  if (status != 0) return status;
  if (get_length(header) != size) return -EPROTO;
  return receive_ahead(fd, in, size);
}

int cipcb_unix_stream_ping(int fd, long rounds, size_t size) {
  ahead_start = ahead_end = 0;  // a new connection: nothing read ahead
  if (size > sizeof in) return -EMSGSIZE;
  memset(out + header_size, 'p', size);
  for (long i = 0; i < rounds; i++) {
    int status = send_frame(fd, out + header_size, size);
    if (status == 0) status = receive_frame(fd, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_stream_pong(int fd, long rounds, size_t size) {
  ahead_start = ahead_end = 0;  // a new connection: nothing read ahead
  if (size > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < rounds; i++) {
    int status = receive_frame(fd, size);
    if (status == 0) status = send_frame(fd, in, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_stream_send(int fd, long count, size_t size) {
  if (size > sizeof in) return -EMSGSIZE;
  memset(out + header_size, 's', size);
  for (long i = 0; i < count; i++) {
    int status = send_frame(fd, out + header_size, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_stream_receive(int fd, long count, size_t size) {
  ahead_start = ahead_end = 0;  // a new connection: nothing read ahead
  if (size > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < count; i++) {
    int status = receive_frame(fd, size);
    if (status != 0) return status;
  }
  return 0;
}

// A seqpacket record goes whole or not at all.
static int send_record(int fd, const char *bytes, size_t size) {
  ssize_t sent;
  while ((sent = send(fd, bytes, size, MSG_NOSIGNAL)) < 0) {
    if (errno != EINTR) return -errno;
  }
  return (size_t)sent == size ? 0 : -EIO;
}

// One record into the whole buffer; MSG_TRUNC makes recv return the record's
// real length, so a longer one is seen, not silently cut. End of stream is
// -EPIPE; a record of any other size than `size` -EPROTO. This plain loop
// keeps none of the library's guarantees: a record longer than the buffer
// loses its tail, descriptors sent with it are dropped by the kernel unseen,
// and an empty record reads as the end.
static int receive_record(int fd, size_t size) {
  ssize_t count;
  while ((count = recv(fd, in, sizeof in, MSG_TRUNC)) < 0) {
    if (errno != EINTR) return -errno;
  }
  if (count == 0 && size > 0) return -EPIPE;
  return (size_t)count == size ? 0 : -EPROTO;
}

// The library's guarantees for a seqpacket record, in C (what
// UnixConnection's receive does): one recvmsg into the buffer, then a spill
// room as large as any record a peer can send (twice net.core.wmem_max), so
// none is cut; room for 253 descriptors and credentials (MSG_CMSG_CLOEXEC),
// so descriptors nobody expects are seen and closed, not dropped unseen;
// and SO_PASSCRED on the socket (cipcb_unix_pass_credentials), so every
// record carries credentials and the end none: an empty record is not the end.
static char *spill;
static size_t spill_size;

int cipcb_unix_pass_credentials(int fd) {
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return -errno;
  if (spill == NULL) {
    long wmem_max = 212992;
    FILE *file = fopen("/proc/sys/net/core/wmem_max", "re");
    if (file != NULL) {
      if (fscanf(file, "%ld", &wmem_max) != 1) wmem_max = 212992;
      fclose(file);
    }
    spill_size = 2 * (size_t)(wmem_max < 4096 ? 4096 : wmem_max);
    spill = malloc(spill_size);
    if (spill == NULL) return -ENOMEM;
  }
  return 0;
}

static int receive_record_exact(int fd, size_t size) {
  struct iovec vectors[2] = {{in, sizeof in}, {spill, spill_size}};
  union {
    char bytes[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  struct msghdr message = {
      .msg_iov = vectors, .msg_iovlen = 2, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
  ssize_t count;
  while ((count = recvmsg(fd, &message, MSG_TRUNC | MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return -errno;
  }
  int credentials = 0, descriptors = 0;
  for (struct cmsghdr *item = CMSG_FIRSTHDR(&message); item != NULL; item = CMSG_NXTHDR(&message, item)) {
    if (item->cmsg_level != SOL_SOCKET) continue;
    if (item->cmsg_type == SCM_CREDENTIALS) credentials = 1;
    if (item->cmsg_type == SCM_RIGHTS) {
      size_t n = (item->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
        int passed;
        memcpy(&passed, CMSG_DATA(item) + i * sizeof(int), sizeof passed);
        close(passed);
        descriptors++;
      }
    }
  }
  if (count == 0 && !credentials && descriptors == 0) return -EPIPE;  // the end
  if (descriptors > 0 || (message.msg_flags & MSG_CTRUNC)) return -EPROTO;
  return (size_t)count == size ? 0 : -EPROTO;
}

// A record of `size` fits the buffers; an exact loop needs its spill room.
static int check_seqpacket(size_t size, _Bool exact) {
  if (size > sizeof in) return -EMSGSIZE;
  return exact && spill == NULL ? -EINVAL : 0;
}

static int receive_one(int fd, size_t size, _Bool exact) {
  return exact ? receive_record_exact(fd, size) : receive_record(fd, size);
}

int cipcb_unix_seqpacket_ping(int fd, long rounds, size_t size, _Bool exact) {
  int status = check_seqpacket(size, exact);
  if (status != 0) return status;
  memset(out, 'p', size);
  for (long i = 0; i < rounds; i++) {
    status = send_record(fd, out, size);
    if (status == 0) status = receive_one(fd, size, exact);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_seqpacket_pong(int fd, long rounds, size_t size, _Bool exact) {
  int status = check_seqpacket(size, exact);
  if (status != 0) return status;
  for (long i = 0; i < rounds; i++) {
    status = receive_one(fd, size, exact);
    if (status == 0) status = send_record(fd, in, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_seqpacket_send(int fd, long count, size_t size) {
  if (size > sizeof in) return -EMSGSIZE;
  memset(out, 's', size);
  for (long i = 0; i < count; i++) {
    int status = send_record(fd, out, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_seqpacket_receive(int fd, long count, size_t size, _Bool exact) {
  int status = check_seqpacket(size, exact);
  if (status != 0) return status;
  for (long i = 0; i < count; i++) {
    status = receive_one(fd, size, exact);
    if (status != 0) return status;
  }
  return 0;
}

// Descriptor passing: a stream frame whose first byte carries one descriptor
// (SCM_RIGHTS). The frame goes out with one sendmsg; the receiver takes it
// with recvmsg (MSG_CMSG_CLOEXEC, room for one descriptor), which brings the
// descriptor, and closes the descriptor.

static int send_frame_with(int fd, const char *payload, size_t size, int passed) {
  put_length(out, size);
  if (payload != out + header_size) memcpy(out + header_size, payload, size);
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec vector = {.iov_base = out, .iov_len = header_size + size};
  struct msghdr message = {
      .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &passed, sizeof passed);
  ssize_t sent;
  while ((sent = sendmsg(fd, &message, MSG_NOSIGNAL)) < 0) {
    if (errno != EINTR) return -errno;
  }
  // The descriptor went with the first byte: the rest, if the kernel took
  // only part of the frame, goes without it.
  if ((size_t)sent < header_size + size) return send_all(fd, out + sent, header_size + size - (size_t)sent);
  return 0;
}

// A frame of exactly `size` bytes that brought exactly one descriptor, which
// is closed. Read as the library reads it: one recvmsg of up to 8 KiB takes
// the frame with its descriptor (a stream read ends right after the data
// that carries descriptors, so it never takes the next frame), and recv loops
// only for what a short read left.
static int receive_frame_with(int fd, size_t size) {
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec vector = {.iov_base = ahead, .iov_len = sizeof ahead};
  struct msghdr message = {
      .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
  ssize_t count;
  while ((count = recvmsg(fd, &message, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return -errno;
  }
  if (count == 0) return -EPIPE;
  int passed = -1;
  for (struct cmsghdr *item = CMSG_FIRSTHDR(&message); item != NULL; item = CMSG_NXTHDR(&message, item)) {
    if (item->cmsg_level == SOL_SOCKET && item->cmsg_type == SCM_RIGHTS &&
        item->cmsg_len == CMSG_LEN(sizeof(int))) {
      memcpy(&passed, CMSG_DATA(item), sizeof passed);
    }
  }
  if (passed < 0 || (message.msg_flags & MSG_CTRUNC)) return -EPROTO;
  close(passed);
  size_t have = (size_t)count;
  if (have < header_size) {
    int status = receive_all(fd, ahead + have, header_size - have);
    if (status != 0) return status;
    have = header_size;
  }
  if (get_length(ahead) != size || have - header_size > size) return -EPROTO;
  memcpy(in, ahead + header_size, have - header_size);
  return receive_all(fd, in + (have - header_size), size - (have - header_size));
}

int cipcb_unix_fdpass_ping(int fd, int passed, long rounds, size_t size) {
  if (size > sizeof in) return -EMSGSIZE;
  memset(out + header_size, 'p', size);
  for (long i = 0; i < rounds; i++) {
    int status = send_frame_with(fd, out + header_size, size, passed);
    if (status == 0) status = receive_frame_with(fd, size);
    if (status != 0) return status;
  }
  return 0;
}

int cipcb_unix_fdpass_pong(int fd, int passed, long rounds, size_t size) {
  if (size > sizeof in) return -EMSGSIZE;
  for (long i = 0; i < rounds; i++) {
    int status = receive_frame_with(fd, size);
    if (status == 0) status = send_frame_with(fd, in, size, passed);
    if (status != 0) return status;
  }
  return 0;
}
