/* The executor on the host (Linux): its hooks (futex parking, clock), threads. */
#ifndef EXECUTOR_HOST_HOST_H
#define EXECUTOR_HOST_HOST_H

#include <stdatomic.h>
#include <stdint.h>

#include "exec.h"

/*
 * One futex word per worker, a token as in Rust's thread::park:
 * EMPTY -> PARKED (park sleeps) ; any -> NOTIFIED (unpark; futex wake only
 * if it was PARKED) ; park consumes NOTIFIED and returns at once.
 */
struct host_hooks {
	struct exec_hooks hooks;
	_Atomic uint32_t token[EXEC_MAX_WORKERS];
	_Atomic uint64_t unparks, futex_wakes;
};

/* Fill hh->hooks (ctx = hh). */
void host_hooks_init(struct host_hooks *hh);

uint64_t host_now_ns(void);

/* Run workers 1..n-1 on new threads and worker 0 on the caller; return
 * when all returned (forever == false: when no task is left). */
void host_run_threads(struct executor *e, unsigned n, bool forever);

#endif /* EXECUTOR_HOST_HOST_H */
