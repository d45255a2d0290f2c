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

/* Each hart's slice deadline; read it through ktimer_slice_over_on (on
 * the user-mode fast path, hence inline).  Written by ktimer_set_slice and
 * by the timer interrupt of the same hart. */
extern volatile uint64_t ktimer_slice[SMP_MAX];

/* True once hart h's slice fired (or was never armed).  Call on hart h,
 * with interrupts masked to act on the answer before the slice ends. */
static inline bool ktimer_slice_over_on(unsigned h)
{
	return ktimer_slice[h] == ARCH_TIMER_OFF;
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
/* ns per tick at frequency f, or 0 if a tick is not a whole number of ns. */
uint64_t ktimer_ns_per_tick(uint64_t f);

/* Conversions using the arch timer frequency. */
uint64_t ktimer_us_to_ticks(uint64_t us);
uint64_t ktimer_ticks_to_us(uint64_t ticks);

#endif /* KERNEL_KTIMER_H */
