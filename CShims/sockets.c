// Unix-domain sockets: sockaddr_un, SCM_RIGHTS/SCM_CREDENTIALS control
// messages, SO_PEERCRED. Thin: the library decides what to do with results.
#include "CIPCShims.h"

#include <errno.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == CIPC_SUN_PATH_SIZE,
               "sun_path is 108 bytes on Linux");
_Static_assert(CIPC_TMPFS_MAGIC == TMPFS_MAGIC, "TMPFS_MAGIC mirrors linux/magic.h");

static int socket_type(int kind) {
  switch (kind) {
  case 0: return SOCK_STREAM;
  case 1: return SOCK_SEQPACKET;
  case 2: return SOCK_DGRAM;
  default: return -1;
  }
}

int cipc_unix_socket(int kind, _Bool nonblocking) {
  int type = socket_type(kind);
  if (type < 0) {
    errno = EINVAL;
    return -1;
  }
  return socket(AF_UNIX, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
}

socklen_t cipc_unix_address(struct sockaddr_un *address, const char *name, size_t length, _Bool abstract) {
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  // A path needs its NUL; an abstract name its leading NUL.
  if (length + 1 > sizeof address->sun_path) return 0;
  if (abstract) {
    memcpy(address->sun_path + 1, name, length);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + length);
  }
  memcpy(address->sun_path, name, length);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1);
}

size_t cipc_unix_address_name(const struct sockaddr_un *address, socklen_t length, const char **name,
                              _Bool *abstract) {
  size_t offset = offsetof(struct sockaddr_un, sun_path);
  *name = address->sun_path;
  *abstract = 0;
  if (length <= offset || address->sun_family != AF_UNIX) return 0;
  size_t count = length - offset;
  if (count > sizeof address->sun_path) count = sizeof address->sun_path;
  if (address->sun_path[0] == '\0') {
    *abstract = 1;
    *name = address->sun_path + 1;
    return count - 1;
  }
  return strnlen(address->sun_path, count);
}

struct bind_job {
  int fd;
  const struct sockaddr_un *address;
  socklen_t length;
  mode_t mode;
  int result;
  int error;
  _Bool unshared;
};

static void *bind_with_umask(void *argument) {
  struct bind_job *job = argument;
  // Own fs_struct (cwd, root, umask) for this thread only.
  job->unshared = unshare(CLONE_FS) == 0;
  if (job->unshared) umask(~job->mode & 0777);
  job->result = bind(job->fd, (const struct sockaddr *)job->address, job->length);
  job->error = errno;
  return NULL;
}

int cipc_unix_bind(int fd, const char *name, size_t length, _Bool abstract, mode_t mode) {
  struct sockaddr_un address;
  socklen_t size = cipc_unix_address(&address, name, length, abstract);
  if (size == 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (abstract) return bind(fd, (const struct sockaddr *)&address, size);
  // bind creates the file with the socket's own mode less the umask: set
  // that mode first, so that where unshare is refused (the umask then being
  // the process's, perhaps 0) the file never has more than `mode`.
  if (fchmod(fd, mode & 07777) != 0) return -1;
  struct bind_job job = {fd, &address, size, mode, -1, 0, 0};
  pthread_t thread;
  int created = pthread_create(&thread, NULL, bind_with_umask, &job);
  if (created != 0) {
    errno = created;
    return -1;
  }
  pthread_join(thread, NULL);
  if (job.result != 0) {
    errno = job.error;
    return -1;
  }
  // Without unshare the process's umask applied, which only removes bits
  // from the socket's mode: the file may lack some of `mode`, never have
  // more. chmod gives it exactly `mode`.
  if (!job.unshared && chmod(address.sun_path, mode) != 0) return -1;
  return 0;
}

int cipc_unix_connect(int fd, const char *name, size_t length, _Bool abstract) {
  struct sockaddr_un address;
  socklen_t size = cipc_unix_address(&address, name, length, abstract);
  if (size == 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return connect(fd, (const struct sockaddr *)&address, size);
}

int cipc_unix_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int cipc_unix_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
  struct ucred credentials;
  socklen_t size = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return -1;
  *pid = credentials.pid;
  *uid = credentials.uid;
  *gid = credentials.gid;
  return 0;
}

int cipc_unix_pass_credentials(int fd, _Bool enabled) {
  int value = enabled ? 1 : 0;
  return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &value, sizeof value);
}

ssize_t cipc_unix_send(int fd, const void *header, size_t headerCount, const void *bytes, size_t count,
                       const int *descriptors, size_t descriptorCount, const char *name, size_t nameLength,
                       _Bool abstract, int flags) {
  if (descriptorCount > (size_t)CIPC_SCM_MAX_FD) {
    errno = EINVAL;
    return -1;
  }
  struct sockaddr_un address;
  socklen_t size = 0;
  if (name != NULL) {
    size = cipc_unix_address(&address, name, nameLength, abstract);
    if (size == 0) {
      errno = ENAMETOOLONG;
      return -1;
    }
  }
  if (descriptorCount == 0 && headerCount + count <= 512) {
    // Nothing rides along and the message is small: the plain call a C
    // program makes (send, or sendto), one buffer, no msghdr to copy in.
    char joined[512];
    const void *data = bytes;
    if (headerCount > 0) {
      memcpy(joined, header, headerCount);
      if (count) memcpy(joined + headerCount, bytes, count);
      data = joined;
    }
    if (name == NULL) return send(fd, data, headerCount + count, flags);
    return sendto(fd, data, headerCount + count, flags, (struct sockaddr *)&address, size);
  }
  struct iovec vectors[2] = {{(void *)header, headerCount}, {(void *)bytes, count}};
  struct msghdr message;
  memset(&message, 0, sizeof message);
  message.msg_iov = headerCount > 0 ? vectors : vectors + 1;
  message.msg_iovlen = headerCount > 0 ? 2 : 1;
  if (name != NULL) {
    message.msg_name = &address;
    message.msg_namelen = size;
  }
  union {
    char buffer[CMSG_SPACE(sizeof(int) * 253)];
    struct cmsghdr align;
  } control;
  if (descriptorCount > 0) {
    size_t size = sizeof(int) * descriptorCount;
    memset(control.buffer, 0, sizeof control.buffer);
    message.msg_control = control.buffer;
    message.msg_controllen = CMSG_SPACE(size);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(size);
    memcpy(CMSG_DATA(header), descriptors, size);
  }
  return sendmsg(fd, &message, flags);
}

ssize_t cipc_unix_receive(int fd, void *bytes, size_t count, int flags, struct cipc_unix_received *received) {
  return cipc_unix_receive_spilling(fd, bytes, count, NULL, 0, 1, flags, received);
}

ssize_t cipc_unix_receive_spilling(int fd, void *bytes, size_t count, void *spill, size_t spillCount,
                                   _Bool withSender, int flags, struct cipc_unix_received *received) {
  struct iovec vectors[2] = {{bytes, count}, {spill, spillCount}};
  struct msghdr message;
  memset(&message, 0, sizeof message);
  message.msg_iov = vectors;
  message.msg_iovlen = spill != NULL ? 2 : 1;
  // Only a datagram's sender is worth asking for: the kernel copies it out on every call.
  if (withSender) {
    message.msg_name = &received->address;
    message.msg_namelen = sizeof received->address;
  }
  union {
    char buffer[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  message.msg_control = control.buffer;
  message.msg_controllen = sizeof control.buffer;
  received->descriptorCount = 0;
  received->hasCredentials = 0;
  received->flags = 0;
  received->addressLength = 0;
  ssize_t result = recvmsg(fd, &message, flags | MSG_CMSG_CLOEXEC);
  if (result < 0) return result;
  received->flags = message.msg_flags;
  received->addressLength = message.msg_namelen;
  for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET) continue;
    if (header->cmsg_type == SCM_RIGHTS) {
      size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char *data = CMSG_DATA(header);
      for (size_t i = 0; i < n; i++) {
        int descriptor;
        memcpy(&descriptor, data + i * sizeof(int), sizeof(int));
        if (received->descriptorCount < 253) {
          received->descriptors[received->descriptorCount++] = descriptor;
        } else {
          close(descriptor);  // cannot happen (SCM_MAX_FD), but never leak one
        }
      }
    } else if (header->cmsg_type == SCM_CREDENTIALS && header->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred credentials;
      memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
      received->hasCredentials = 1;
      received->pid = credentials.pid;
      received->uid = credentials.uid;
      received->gid = credentials.gid;
    }
  }
  return result;
}

ssize_t cipc_unix_peek(int fd, int flags, _Bool *isRecord) {
  char byte;
  struct iovec vector = {&byte, 0};
  struct msghdr message;
  memset(&message, 0, sizeof message);
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  union {
    char buffer[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  message.msg_control = control.buffer;
  message.msg_controllen = sizeof control.buffer;
  *isRecord = 0;
  ssize_t result = recvmsg(fd, &message, flags | MSG_PEEK | MSG_TRUNC | MSG_CMSG_CLOEXEC);
  if (result < 0) return result;
  for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_CREDENTIALS) *isRecord = 1;
    // A peek installs copies of the descriptors a message carries (the
    // receive that follows gets its own): close these, or each peek leaks.
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t index = 0; index < count; index++) {
        int copy;
        memcpy(&copy, CMSG_DATA(header) + index * sizeof(int), sizeof copy);
        close(copy);
      }
    }
  }
  // A record with data is one whatever the control messages say.
  if (result > 0) *isRecord = 1;
  return result;
}

long cipc_filesystem_type(int fd) {
  struct statfs info;
  if (fstatfs(fd, &info) != 0) return 0;
  return (long)info.f_type;
}

int cipc_socket_kind(int fd, _Bool *isUnix) {
  int value = 0;
  socklen_t size = sizeof value;
  *isUnix = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &size) != 0) return -1;
  *isUnix = value == AF_UNIX;
  size = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &size) != 0) return -1;
  switch (value) {
  case SOCK_STREAM: return 0;
  case SOCK_SEQPACKET: return 1;
  case SOCK_DGRAM: return 2;
  default: return -1;
  }
}

// MARK: The socket table (NETLINK_SOCK_DIAG)

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdlib.h>

_Static_assert(sizeof(((struct cipc_unix_socket_entry *)0)->name) == CIPC_SUN_PATH_SIZE,
               "an entry's name holds a whole sun_path");

/// Reads one entry from a unix_diag reply; false if it has no name.
static _Bool unix_diag_entry(const struct nlmsghdr *header, struct cipc_unix_socket_entry *entry) {
  if (header->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg))) return 0;
  const struct unix_diag_msg *message = NLMSG_DATA(header);
  memset(entry, 0, sizeof *entry);
  entry->inode = message->udiag_ino;
  switch (message->udiag_type) {
  case SOCK_STREAM: entry->kind = 0; break;
  case SOCK_SEQPACKET: entry->kind = 1; break;
  case SOCK_DGRAM: entry->kind = 2; break;
  default: entry->kind = -1; break;
  }
  entry->state = message->udiag_state;
  int length = (int)(header->nlmsg_len - NLMSG_LENGTH(sizeof *message));
  for (const struct rtattr *attribute = (const void *)(message + 1); RTA_OK(attribute, length);
       attribute = RTA_NEXT(attribute, length)) {
    size_t size = RTA_PAYLOAD(attribute);
    switch (attribute->rta_type) {
    case UNIX_DIAG_NAME:
      if (size > sizeof entry->name) size = sizeof entry->name;
      memcpy(entry->name, RTA_DATA(attribute), size);
      // A path is reported with its terminating NUL; an abstract name starts with one.
      entry->nameLength = size > 0 && entry->name[0] != 0 ? strnlen(entry->name, size) : size;
      break;
    case UNIX_DIAG_PEER:
      if (size >= sizeof entry->peer) memcpy(&entry->peer, RTA_DATA(attribute), sizeof entry->peer);
      break;
    case UNIX_DIAG_UID:
      if (size >= sizeof entry->uid) {
        memcpy(&entry->uid, RTA_DATA(attribute), sizeof entry->uid);
        entry->hasUID = 1;
      }
      break;
    }
  }
  return entry->nameLength > 0;
}

int cipc_unix_sockets(struct cipc_unix_socket_entry **entries, size_t *count) {
  *entries = NULL;
  *count = 0;
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  struct {
    struct nlmsghdr header;
    struct unix_diag_req request;
  } query;
  memset(&query, 0, sizeof query);
  query.header.nlmsg_len = sizeof query;
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  query.header.nlmsg_seq = 1;
  query.request.sdiag_family = AF_UNIX;
  query.request.udiag_states = ~0u;
  query.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_UID;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do {
    sent = sendto(fd, &query, sizeof query, 0, (const struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  struct cipc_unix_socket_entry *list = NULL;
  size_t used = 0, capacity = 0;
  int error = sent < 0 ? errno : 0;
  // Room for the largest dump message the kernel sends (32 KiB): a smaller
  // buffer would cut one (MSG_TRUNC). malloc aligns it for nlmsghdr.
  enum { bufferSize = 64 * 1024 };
  long *buffer = error == 0 ? malloc(bufferSize) : NULL;
  if (error == 0 && !buffer) error = ENOMEM;
  while (error == 0) {
    ssize_t received = recv(fd, buffer, bufferSize, 0);
    if (received < 0) {
      if (errno != EINTR) error = errno;
      continue;
    }
    if (received == 0) {
      error = EIO; // the kernel never ends a dump without NLMSG_DONE
      break;
    }
    int left = (int)received;
    for (const struct nlmsghdr *header = (const void *)buffer; NLMSG_OK(header, left);
         header = NLMSG_NEXT(header, left)) {
      if (header->nlmsg_type == NLMSG_DONE) goto done;
      if (header->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *failure = NLMSG_DATA(header);
        error = header->nlmsg_len >= NLMSG_LENGTH(sizeof *failure) && failure->error < 0 ? -failure->error : EIO;
        break;
      }
      if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      struct cipc_unix_socket_entry entry;
      if (!unix_diag_entry(header, &entry)) continue;
      if (used == capacity) {
        size_t larger = capacity ? capacity * 2 : 64;
        struct cipc_unix_socket_entry *grown = realloc(list, larger * sizeof *list);
        if (!grown) {
          error = ENOMEM;
          break;
        }
        list = grown;
        capacity = larger;
      }
      list[used++] = entry;
    }
  }
done:
  free(buffer);
  close(fd);
  if (error != 0) {
    free(list);
    errno = error;
    return -1;
  }
  *entries = list;
  *count = used;
  return 0;
}
