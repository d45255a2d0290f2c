/* The executor's trace helpers (tracing builds only): a wake's origin, a spawned task's name. */
#include "exec.h"
#include "trace.h"

#ifdef EXEC_TRACE
#include <string.h>

_Thread_local struct task *exec_trace_cur;

/* Where the wake comes from, as far as the executor knows: the timer
 * wheel, the task being polled, or neither (an interrupt handler, boot,
 * a reactor taking completions), which the environment's emit may say
 * more precisely. */
void exec_trace_wake(struct task *t, unsigned byref)
{
	struct exec_worker *w = exec_self;
	unsigned from = PX_TR_FROM_OUTSIDE;
	uint64_t id = 0;

	if (w && w->in_timers) {
		from = PX_TR_FROM_TIMER;
	} else if (w && exec_trace_cur) {
		from = PX_TR_FROM_TASK;
		id = (uint64_t)(uintptr_t)exec_trace_cur;
	}
	exec_trace_emit(PX_TR_WAKE, from | (byref ? PX_TR_BYREF : 0),
	                (uint64_t)(uintptr_t)t, id);
}

/* The first 10 bytes of the name travel with the spawn (b, then x). */
void exec_trace_spawn(struct task *t, const char *name)
{
	char n[10] = { 0 };
	uint64_t b;
	uint16_t x;

	for (unsigned i = 0; i < sizeof(n) && name && name[i]; i++)
		n[i] = name[i];
	memcpy(&b, n, 8);
	memcpy(&x, n + 8, 2);
	exec_trace_emit(PX_TR_SPAWN, x, (uint64_t)(uintptr_t)t, b);
}
#else
/* ISO C wants something in every translation unit. */
typedef int exec_trace_unused;
#endif
