/* What one trace record costs, in the tracing test kernel (make bench-trace); nothing elsewhere. */
#include <stdio.h>

#include "arch/arch.h"
#include "executor/exec.h"
#include "kernel/kbench/kbench.h"
#include "kernel/trace.h"

#define KB_RUNS 11
#define EVENTS 200

/*
 * Two trace points, each called EVENTS times in a row, per run:
 *   trace_event       KTR, a kernel trace point (a syscall's enter, say)
 *   trace_wake_event  EXEC_TR_WAKE, the executor's, which also works out
 *                     where the wake comes from
 * Each figure includes the loop's own two or three instructions.  The
 * records land in the buffer like any other (the dump shows them).
 */
void kbench_trace(void)
{
#ifdef EXEC_TRACE
	static uint64_t samples[KB_RUNS];
	struct task *t = (struct task *)(void *)samples; /* any address: only recorded */

	for (unsigned run = 0; run < KB_RUNS; run++) {
		uint64_t t0 = arch_instret();
		for (unsigned i = 0; i < EVENTS; i++)
			KTR(PX_TR_SYS_ENTER, 0, i, 0);
		samples[run] = (arch_instret() - t0) / EVENTS;
	}
	printf("bench trace_event %llu instructions\n",
	       (unsigned long long)kbench_median(samples, KB_RUNS));
	for (unsigned run = 0; run < KB_RUNS; run++) {
		uint64_t t0 = arch_instret();
		for (unsigned i = 0; i < EVENTS; i++)
			EXEC_TR_WAKE(t, 1);
		samples[run] = (arch_instret() - t0) / EVENTS;
	}
	printf("bench trace_wake_event %llu instructions\n",
	       (unsigned long long)kbench_median(samples, KB_RUNS));
#endif
}
