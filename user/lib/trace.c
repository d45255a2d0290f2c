/* Tracing user library only: a process's own trace records, handed to the kernel in batches. */
#include <stdint.h>

#include "executor/trace.h"
#include "lib/uapi/pollux.h"
#include "lib/uapi/px_trace.h"
#include "sysc.h"
#include "ticks.h"
#include "utrace.h"

/*
 * The user executor's polls and wakes, and the reactor's completions,
 * are recorded here, in the process's own memory, with the same time
 * counter the kernel stamps its records with (riscv64 `time`, which
 * scounteren lets user mode read; aarch64 CNTPCT_EL0, which CNTKCTL_EL1
 * lets it read).  A batch goes to the kernel with one SYS_trace_put
 * when the buffer fills, before the reactor parks (it is about to enter
 * the kernel anyway) and at exit; the kernel adds pid and hart and
 * keeps them in the hart's buffer.  A system call per event would cost
 * a trap each and change what it measures; a page mapped into both
 * would need the kernel to find each process's page at dump time, when
 * the process may be long gone.  Nothing is lost here: a full buffer is
 * flushed, not overwritten (the kernel's rings count what they lose).
 */
#define UBUF 128

static struct px_trace_rec ubuf[UBUF];
static unsigned un;
static uint64_t reap_ud;
static int reaping;

void utrace_flush(void)
{
	if (un)
		px_syscall2(SYS_trace_put, ubuf, un);
	un = 0;
}

void exec_trace_emit(unsigned ev, unsigned x, uint64_t a, uint64_t b)
{
	if (ev == PX_TR_WAKE && (x & 0xf) == PX_TR_FROM_OUTSIDE && reaping) {
		x = (x & ~0xfu) | PX_TR_FROM_CQE;
		b = reap_ud;
	}
	ubuf[un++] = (struct px_trace_rec){
		.ts = px_ticks(), .ev = (uint8_t)(ev | PX_TR_U), .x = (uint16_t)x, .a = a, .b = b,
	};
	if (un == UBUF)
		utrace_flush();
}

void utrace_reap(uint64_t user_data, int64_t res)
{
	reaping = 1;
	reap_ud = user_data;
	exec_trace_emit(PX_TR_U_REAP, 0, user_data, (uint64_t)res);
}

void utrace_reap_done(void)
{
	reaping = 0;
}
