#ifndef CIPCBENCH_H
#define CIPCBENCH_H

// Baseline loops for ipc-bench, written in plain C against the raw system
// calls, so that the Swift layer and C are measured on the same machine, in
// the same process setup, in one run. Each returns 0, or -errno on failure.

#include <stddef.h>

/// Pins the calling process to one CPU (sched_setaffinity).
int cipcb_pin_to_cpu(int cpu);

/// Number of CPUs this process may run on.
int cipcb_cpu_count(void);

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC).
long long cipcb_now_ns(void);

/// Ping side of a System V round trip: `rounds` times, send `size` bytes as
/// type 1, then receive a type-2 reply.
int cipcb_sysv_ping(int queue, long rounds, size_t size);

/// Pong side: `rounds` times, receive a type-1 message and send it back as type 2.
int cipcb_sysv_pong(int queue, long rounds, size_t size);

/// Sends `count` messages of `size` bytes and type 1.
int cipcb_sysv_send(int queue, long count, size_t size);

/// Receives `count` messages of type 1 into one buffer of `size` bytes.
int cipcb_sysv_receive(int queue, long count, size_t size);

#endif
