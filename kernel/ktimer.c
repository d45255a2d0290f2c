/* Kernel one-shot timer: program the arch deadline only when someone waits. */
#include <stddef.h>

#include "arch/arch.h"
#include "kernel/irq.h"
#include "kernel/ktimer.h"

static struct {
	uint64_t deadline;
	ktimer_fn fn;
	void *arg;
} slot[SMP_MAX];

void ktimer_arm(uint64_t deadline, ktimer_fn fn, void *arg)
{
	unsigned long f = arch_irq_save();
	unsigned h = arch_hart_id();
	slot[h].deadline = deadline;
	slot[h].fn = fn;
	slot[h].arg = arg;
	arch_timer_set(deadline);
	arch_irq_restore(f);
}

void ktimer_cancel(void)
{
	unsigned long f = arch_irq_save();
	slot[arch_hart_id()].fn = NULL;
	arch_timer_set(ARCH_TIMER_OFF);
	arch_irq_restore(f);
}

/* The arch has already disarmed the hardware timer. */
void trap_timer(struct trap_frame *tf)
{
	unsigned h = arch_hart_id();
	uint64_t now = arch_timer_now();
	ktimer_fn fn = slot[h].fn;

	(void)tf;
	irq_stats.timer++;
	if (!fn)
		return;
	if (now < slot[h].deadline) {
		/* Early (should not happen): wait for the real deadline. */
		arch_timer_set(slot[h].deadline);
		return;
	}
	slot[h].fn = NULL;
	fn(slot[h].arg, now);
}

uint64_t ktimer_us_to_ticks(uint64_t us)
{
	return us * arch_timer_freq() / 1000000;
}

uint64_t ktimer_ticks_to_us(uint64_t ticks)
{
	return ticks * 1000000 / arch_timer_freq();
}
