/* Kernel one-shot timer: one deadline per hart, no periodic tick. */
#ifndef KERNEL_KTIMER_H
#define KERNEL_KTIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"

/*
 * Kernel tasks sleep on the executor's timing wheel; its next deadline
 * reaches the hardware through the park hook (ktimer_set_park).  Besides
 * that, each hart has one raw one-shot callback, for boot self tests and
 * latency measurements.  Arming replaces the previous callback.  It runs
 * in the timer interrupt with interrupts masked and may re-arm.
 */
typedef void (*ktimer_fn)(void *arg, uint64_t now);

void ktimer_arm(uint64_t deadline, ktimer_fn fn, void *arg);
void ktimer_cancel(void);

/* The executor's park deadline (ticks; ARCH_TIMER_OFF for none).  Call
 * with interrupts masked. */
void ktimer_set_park(uint64_t deadline);

/* A user process's time slice: arming it makes the timer fire by
 * `deadline` (ticks) while user code runs, so a busy process cannot keep
 * the hart; ARCH_TIMER_OFF disarms. */
void ktimer_set_slice(uint64_t deadline);

/*
 * Each hart's timer state, together so that the timer interrupt finds
 * it from one address.  Only hart h writes ktimer_harts[h], with
 * interrupts masked (ktimer.c's functions and its timer interrupt);
 * others may read the counters.  Deadlines are in ticks, ARCH_TIMER_OFF
 * for none.
 */
struct ktimer_hart {
	uint64_t slice;          /* end of the running process's time slice */
	uint64_t park;           /* the executor's park deadline */
	uint64_t cb_at;          /* the raw callback's deadline, if fn */
	ktimer_fn fn;
	void *arg;
	uint64_t last_irq;       /* the counter at the last timer interrupt */
	uint64_t irqs;           /* timer interrupts taken (irq_total) */
} __attribute__((aligned(64))); /* one cache line per hart, a shift to index */
extern struct ktimer_hart ktimer_harts[SMP_MAX];

/* True once hart h's slice fired (or was never armed).  Call on hart h,
 * with interrupts masked to act on the answer before the slice ends.
 * (On the user-mode fast path, hence inline.) */
static inline bool ktimer_slice_over_on(unsigned h)
{
	/* volatile: the caller may loop on it while interrupts come */
	return *(volatile uint64_t *)&ktimer_harts[h].slice == ARCH_TIMER_OFF;
}

/* Timer interrupts hart h has taken. */
static inline uint64_t ktimer_irqs_on(unsigned h)
{
	return __atomic_load_n(&ktimer_harts[h].irqs, __ATOMIC_RELAXED);
}

/* Interrupt-latency probe: while nonzero, trap_timer overwrites it with
 * the instruction counter at the first instruction of the trap vector
 * (arch_trap_stamp; the test kernel records it).  The benchmarks set it
 * to 1 before the interrupt they time (kernel/kbench/). */
extern uint64_t ktimer_irq_mark;

/* Arch timer reading (ticks) at the last timer interrupt on this hart. */
uint64_t ktimer_last_irq(void);

/* Kernel time: nanoseconds since boot from the arch timer, and back
 * (exact when the frequency divides 10^9: one multiply). */
uint64_t ktimer_now_ns(void);
uint64_t ktimer_ticks_to_ns(uint64_t ticks);
uint64_t ktimer_ns_to_ticks_ceil(uint64_t ns);
/* Fixes the clock's conversion once the timer frequency is final (the
 * device tree parsed); returns ns per tick, or 0 if a tick is not a whole
 * number of ns (then every read converts exactly).  Until it runs, reads
 * take the exact path. */
uint64_t ktimer_clock_init(void);
/* ns per tick at frequency f, or 0 if a tick is not a whole number of ns. */
uint64_t ktimer_ns_per_tick(uint64_t f);

/* Conversions using the arch timer frequency. */
uint64_t ktimer_us_to_ticks(uint64_t us);
uint64_t ktimer_ticks_to_us(uint64_t ticks);

#endif /* KERNEL_KTIMER_H */
