/* Kernel trace points: per-hart event buffers in a tracing build (make TRACE=1), nothing otherwise. */
#ifndef KERNEL_TRACE_H
#define KERNEL_TRACE_H

#include <stdint.h>

/*
 * KTR(ev, x, a, b) records one event (lib/uapi/px_trace.h) in this hart's
 * buffer, stamped with the time counter.  Any context: trap handlers
 * included; no lock, no allocation (each hart writes only its own buffer,
 * with interrupts masked for the few stores).  A full buffer overwrites
 * its oldest records and counts them as lost; the dump says how many.
 *
 * Built without -DEXEC_TRACE (every kernel but make TRACE=1's), every
 * KTR_* is ((void)0) and kernel/trace.c is not linked.
 */
#ifdef EXEC_TRACE

#include "lib/uapi/px_trace.h"

struct proc;

void ktrace(unsigned ev, unsigned x, uint64_t a, uint64_t b);
/* An interrupt handler starts/ends (cause: PX_TR_CAUSE_*); wakes in
 * between are attributed to it. */
void ktrace_trap_enter(unsigned cause);
void ktrace_trap_exit(void);
/* Interrupt `irq` claimed: the wakes that follow are its. */
void ktrace_irq(unsigned irq);
/* Boot: the buffer size from the command line (trace.cap=N). */
void ktrace_init(void);
/* Print every buffer on the console (framed: scripts/pxtrace.py). */
void ktrace_dump(void);
/* SYS_trace_put: a process's own records. */
int64_t ktrace_put(struct proc *p, uint64_t va, uint64_t n);

/* The first 8 bytes of a name, as one word (a record's a or b). */
static inline uint64_t trace_name8(const char *s)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8 && s[i]; i++)
		v |= (uint64_t)(unsigned char)s[i] << (8 * i);
	return v;
}

#define KTR(ev, x, a, b) \
	ktrace((ev), (unsigned)(x), (uint64_t)(uintptr_t)(a), (uint64_t)(b))
#define KTR_TRAP_ENTER(cause) ktrace_trap_enter(cause)
#define KTR_TRAP_EXIT()       ktrace_trap_exit()
#define KTR_IRQ(irq)          ktrace_irq(irq)
#define KTR_INIT()            ktrace_init()
#define KTR_DUMP()            ktrace_dump()

#else

#define KTR(ev, x, a, b)      ((void)0)
#define KTR_TRAP_ENTER(cause) ((void)0)
#define KTR_TRAP_EXIT()       ((void)0)
#define KTR_IRQ(irq)          ((void)0)
#define KTR_INIT()            ((void)0)
#define KTR_DUMP()            ((void)0)

#endif /* EXEC_TRACE */
#endif /* KERNEL_TRACE_H */
