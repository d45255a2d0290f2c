/* Trace hooks of the executor: macros that record events in a tracing build and are nothing otherwise. */
#ifndef EXECUTOR_TRACE_H
#define EXECUTOR_TRACE_H

/*
 * A build with -DEXEC_TRACE (the kernel's and the user library's with
 * make TRACE=1) records polls, wakes, queue choices, steals, parks and
 * unparks through one link-time hook, exec_trace_emit, that the
 * environment supplies (kernel/trace.c: a per-hart buffer; user/lib/
 * trace.c: a per-process buffer handed to the kernel).  Any other build
 * expands every EXEC_TR_* to ((void)0): no call, no load, no branch.
 * Events and their arguments: lib/uapi/px_trace.h.
 */
#ifdef EXEC_TRACE

#include <stdint.h>

#include "lib/uapi/px_trace.h"

struct task;

/* Record one event.  Any context (interrupt handlers included); never
 * allocates, never blocks, never polls. */
void exec_trace_emit(unsigned ev, unsigned x, uint64_t a, uint64_t b);

/* The task this thread/CPU is polling, or NULL: a wake's origin. */
extern _Thread_local struct task *exec_trace_cur;

void exec_trace_wake(struct task *t, unsigned byref);
void exec_trace_spawn(struct task *t, const char *name);

#define EXEC_TR(ev, x, a, b) \
	exec_trace_emit((ev), (unsigned)(x), (uint64_t)(uintptr_t)(a), (uint64_t)(b))
#define EXEC_TR_WAKE(t, byref)  exec_trace_wake((t), (byref))
#define EXEC_TR_SPAWN(t, name)  exec_trace_spawn((t), (name))
#define EXEC_TR_POLL_START(t) \
	(exec_trace_cur = (t), EXEC_TR(PX_TR_POLL_START, 0, (t), 0))
#define EXEC_TR_POLL_END(t, ready) \
	(exec_trace_cur = NULL, EXEC_TR(PX_TR_POLL_END, (ready), (t), 0))

#else

#define EXEC_TR(ev, x, a, b)       ((void)0)
#define EXEC_TR_WAKE(t, byref)     ((void)0)
#define EXEC_TR_SPAWN(t, name)     ((void)0)
#define EXEC_TR_POLL_START(t)      ((void)0)
#define EXEC_TR_POLL_END(t, ready) ((void)0)

#endif /* EXEC_TRACE */
#endif /* EXECUTOR_TRACE_H */
