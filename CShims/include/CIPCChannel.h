#ifndef CIPC_CHANNEL_H
#define CIPC_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// MARK: Shared channel: a message channel in shared memory (SharedChannel)
//
// Layout, version 2, at the start of a shared region (every integer in host
// order, offsets in bytes):
//   the header, bytes 0-127:
//     0-7     magic "IPCCHAN1"
//     8-11    version (2)
//     12-15   producer slots (1-64)
//     16-23   ring size in bytes (a power of two, 4096 to 2^30)
//     24-31   the consumer's identity (below), one 64-bit atomic word
//     32-35   the consumer's park word (1: it sleeps on this futex)
//     36-39   1 once a producer attached (end of stream becomes possible)
//   then per producer slot, 256 bytes of control and `ring` bytes of data:
//     0-7     committed bytes (the tail), written by the producer only
//     8-15    the producer's identity (below), one 64-bit atomic word
//     16-19   the producer's park word
//     128-135 consumed bytes (the head), written by the consumer only
//     256-    the ring
// An identity is a pid (bits 0-31: bytes 0-3 on a little-endian host) and
// the low 32 bits of that process's start time (bits 32-63), in clock ticks
// since boot as /proc/PID/stat field 22 gives it: 0 never attached; all ones
// detached. Both halves live in one word, so no reader ever sees one
// process's pid with another's start time; a live pid whose start time
// differs from the one recorded is a recycled pid, so the peer is dead. A
// start time of 0 (unreadable /proc) is not compared.
// A record in a ring: its length (uint32), 0 (uint32), the payload, padded to
// 8 bytes; records never wrap: a length of 0xFFFFFFFF skips to the ring's end.
// One producer writes each ring and only the consumer reads it, so a record is
// published by one release store of the tail, after its bytes: a producer
// killed while writing leaves nothing the consumer can see.
//
// Waiting calls take `timeout_ns` (< 0: forever, 0: not at all) and fail
// with -EINTR when a signal interrupts their futex sleep (the caller retries
// with the time left, or gives up if it was told to: an async wait that was
// cancelled).

/// The layout version this code writes and accepts.
#define CIPC_CHANNEL_VERSION 2

/// Bytes a channel of `producers` slots and `ring` bytes each needs; 0 when
/// the numbers are out of range (producers 1...64, ring a power of two from
/// 4096 to 2^30).
size_t cipc_channel_size(int producers, size_t ring);

/// Lays out an empty channel at `base` (`size` bytes available). 0, or -errno
/// (EINVAL: the numbers; ENOSPC: `size` too small).
int cipc_channel_initialize(void *base, size_t size, int producers, size_t ring);

/// Checks the layout at `base` (`size` bytes mapped): 0, -EPROTO for no
/// channel, -EPROTONOSUPPORT for a channel of another version (whose number
/// `*version` then holds, when not NULL), -ENOSPC if the mapping is smaller
/// than it says.
int cipc_channel_check(const void *base, size_t size, uint32_t *version);

/// The largest payload one message may have in this channel.
size_t cipc_channel_max_message(const void *base);

/// The identity (pid and start time, see above) of the calling process.
uint64_t cipc_channel_identity(void);

/// Attaches the calling process as the channel's consumer: 0, or -EBUSY if a
/// live process is attached as consumer.
int cipc_channel_attach_consumer(void *base);
/// Detaches the consumer (waking producers waiting for space: they fail).
void cipc_channel_detach_consumer(void *base);

/// Claims a producer slot for the calling process: the slot (>= 0), or
/// -EBUSY when every slot is taken by a live producer or still holds messages.
int cipc_channel_attach_producer(void *base);
/// Gives the slot up; what it sent stays to be read.
void cipc_channel_detach_producer(void *base, int slot);

/// Sends `count` bytes through `slot`, waiting up to `timeout_ns` for space.
/// 0; -EAGAIN if no space came in time; -EPIPE if the consumer detached or
/// died; -EMSGSIZE if the message is larger than cipc_channel_max_message;
/// -EINTR (nothing sent).
int cipc_channel_send(void *base, int slot, const void *bytes, size_t count, int64_t timeout_ns);

/// Waits up to `timeout_ns` until `slot` has room for a message of up to
/// `count` bytes, and sets `*bytes` (when not NULL) to where its payload goes.
/// Nothing in the region changes: the room stays until this producer uses it
/// (only the consumer frees room), and nothing is published until
/// cipc_channel_commit. 0, or -EAGAIN, -EPIPE, -EMSGSIZE, -EINTR as for send.
int cipc_channel_reserve(void *base, int slot, size_t count, int64_t timeout_ns, void **bytes);

/// Publishes the first `used` bytes written where cipc_channel_reserve(base,
/// slot, `reserved`, ...) pointed, as one message (one release store of the
/// tail). 0; -EINVAL if `used` > `reserved` or no such reservation has room;
/// -EPIPE if the consumer is gone (nothing published).
int cipc_channel_commit(void *base, int slot, size_t reserved, size_t used);

/// Receives the next message into `buffer` (`capacity` bytes), waiting up
/// to `timeout_ns`. Its length (>= 0, also when larger than `capacity`: then
/// nothing is taken and the caller retries with a buffer that large);
/// -EAGAIN if none came in time; -EPIPE at the end of the stream: producers
/// came and all of them are gone, every message read; -EINTR.
int64_t cipc_channel_receive(void *base, void *buffer, size_t capacity, int64_t timeout_ns);

/// The next message, left in its ring, waiting up to `timeout_ns`: its
/// length (>= 0), with `*slot` and `*bytes` set; results as for receive.
/// cipc_channel_release(base, *slot) consumes it; until then the producer
/// cannot overwrite it, and the next peek returns it or another producer's.
int64_t cipc_channel_peek(void *base, int64_t timeout_ns, int *slot, const void **bytes);

/// Consumes the message cipc_channel_peek gave from `slot`.
void cipc_channel_release(void *base, int slot);

/// Waits up to `timeout_ns` until a message is there to receive, taking
/// nothing: 0; -EPIPE at the end of the stream; -EAGAIN; -EINTR.
int cipc_channel_wait_message(void *base, int64_t timeout_ns);

#endif
