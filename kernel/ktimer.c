/* Kernel one-shot timer: program the arch deadline only when someone waits. */
#include <stddef.h>

#include "arch/arch.h"
#include "kernel/irq.h"
#include "kernel/kexec.h"
#include "kernel/ktimer.h"

/*
 * Two users share each hart's one-shot timer: the executor's park (the
 * timing wheel's next deadline) and one raw callback (boot self tests and
 * latency benchmarks).  The hardware gets the earlier of the two; with
 * neither, the timer is off: no periodic tick, ever.
 */
static struct {
	uint64_t park;     /* ARCH_TIMER_OFF: none */
	uint64_t cb_at;
	ktimer_fn fn;
	void *arg;
} slot[SMP_MAX] = {
	/* Disarmed, not "due at time 0". */
	[0 ... SMP_MAX - 1] = { .park = ARCH_TIMER_OFF },
};

/* End of the running process's time slice, per hart (ktimer.h). */
volatile uint64_t ktimer_slice[SMP_MAX] = { [0 ... SMP_MAX - 1] = ARCH_TIMER_OFF };

/* When the last timer interrupt on each hart arrived (ticks). */
static uint64_t last_irq[SMP_MAX];

uint64_t ktimer_last_irq(void)
{
	return last_irq[arch_hart_id()];
}

/* Interrupts masked. */
static void program(unsigned h)
{
	uint64_t d = slot[h].park < ktimer_slice[h] ? slot[h].park : ktimer_slice[h];
	if (slot[h].fn && slot[h].cb_at < d)
		d = slot[h].cb_at;
	arch_timer_set(d);
}

void ktimer_arm(uint64_t deadline, ktimer_fn fn, void *arg)
{
	unsigned long f = arch_irq_save();
	unsigned h = arch_hart_id();
	slot[h].cb_at = deadline;
	slot[h].fn = fn;
	slot[h].arg = arg;
	program(h);
	arch_irq_restore(f);
}

void ktimer_cancel(void)
{
	unsigned long f = arch_irq_save();
	unsigned h = arch_hart_id();
	slot[h].fn = NULL;
	program(h);
	arch_irq_restore(f);
}

/* Called by the executor's park with interrupts masked. */
void ktimer_set_park(uint64_t deadline)
{
	unsigned h = arch_hart_id();
	slot[h].park = deadline;
	program(h);
}

void ktimer_set_slice(uint64_t deadline)
{
	unsigned long f = arch_irq_save();
	unsigned h = arch_hart_id();
	ktimer_slice[h] = deadline;
	program(h);
	arch_irq_restore(f);
}

/* The arch has already disarmed the hardware timer. */
uint64_t ktimer_irq_mark;

void trap_timer(struct trap_frame *tf)
{
	if (ktimer_irq_mark)
		ktimer_irq_mark = arch_instret();
	unsigned h = arch_hart_id();
	uint64_t now = arch_timer_now();

	(void)tf;
	kexec_trap_enter(WAKE_TIMER);
	IRQ_COUNT(timer);
	last_irq[h] = now;
	if (slot[h].park <= now)
		slot[h].park = ARCH_TIMER_OFF; /* the worker advances the wheel */
	if (ktimer_slice[h] <= now)
		ktimer_slice[h] = ARCH_TIMER_OFF; /* the process sees it and yields */
	ktimer_fn fn = slot[h].fn;
	if (fn && slot[h].cb_at <= now) {
		slot[h].fn = NULL;
		fn(slot[h].arg, now);
	}
	program(h);
	kexec_trap_exit();
}

uint64_t ktimer_us_to_ticks(uint64_t us)
{
	return us * arch_timer_freq() / 1000000;
}

uint64_t ktimer_ticks_to_us(uint64_t ticks)
{
	return ticks * 1000000 / arch_timer_freq();
}
