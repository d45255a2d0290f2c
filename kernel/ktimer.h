/* Kernel one-shot timer: one deadline per hart, no periodic tick. */
#ifndef KERNEL_KTIMER_H
#define KERNEL_KTIMER_H

#include <stdint.h>

/*
 * Until the executor's timing wheel takes over (async-kernel issue), the
 * kernel has a single one-shot callback per hart.  Arming replaces the
 * previous deadline.  The callback runs in the timer interrupt with
 * interrupts masked and may re-arm.
 */
typedef void (*ktimer_fn)(void *arg, uint64_t now);

void ktimer_arm(uint64_t deadline, ktimer_fn fn, void *arg);
void ktimer_cancel(void);

/* Conversions using the arch timer frequency. */
uint64_t ktimer_us_to_ticks(uint64_t us);
uint64_t ktimer_ticks_to_us(uint64_t ticks);

#endif /* KERNEL_KTIMER_H */
