/* Kernel one-shot timer: program the arch deadline only when someone waits. */
#include <stdatomic.h>

#include <stddef.h>

#include "arch/arch.h"
#include "kernel/irq.h"
#include "kernel/ktask.h"
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

/* Interrupts masked.  Inline in trap_timer (the wake-up path), a call
 * from the others. */
static inline __attribute__((always_inline)) void program_inl(unsigned h)
{
	uint64_t d = slot[h].park < ktimer_slice[h] ? slot[h].park : ktimer_slice[h];
	if (slot[h].fn && slot[h].cb_at < d)
		d = slot[h].cb_at;
	arch_timer_set(d);
}

static void program(unsigned h)
{
	program_inl(h);
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

/* The arch has acknowledged the interrupt (riscv64: program() below
 * writes the next deadline, which clears the pending bit). */
uint64_t ktimer_irq_mark;

void trap_timer(struct trap_frame *tf)
{
	if (ktimer_irq_mark)
		ktimer_irq_mark = arch_trap_stamp(tf);
	unsigned h = arch_hart_id();
	uint64_t now = arch_timer_now();

	(void)tf;
	ktask_trap_enter_on(WAKE_TIMER, h);
	IRQ_COUNT_ON(timer, h);
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
	program_inl(h);
	ktask_trap_exit_inl();
}

uint64_t ktimer_us_to_ticks(uint64_t us)
{
	return us * arch_timer_freq() / 1000000;
}

uint64_t ktimer_ticks_to_us(uint64_t ticks)
{
	return ticks * 1000000 / arch_timer_freq();
}

/*
 * Tick <-> ns conversion.  When the timer frequency divides 10^9 (10 MHz
 * on riscv64 virt, 62.5 MHz on aarch64 virt) a tick is a whole number of
 * ns: one multiply, no divide.  ns_conv caches (freq << 32 | ns per tick)
 * in one word, so harts racing to fill it always agree, and a frequency
 * that changes (the device tree is parsed after the first clock reads)
 * simply misses the cache.  0 = not filled yet.
 */
static _Atomic uint64_t ns_conv;

static uint64_t ns_per_tick_slow(uint64_t f)
{
	if (f == 0 || f > 0xffffffffu || 1000000000ull % f)
		return 0;
	atomic_store_explicit(&ns_conv, f << 32 | 1000000000ull / f,
	                      memory_order_relaxed);
	return 1000000000ull / f;
}

/* ns per tick for frequency f, or 0 if a tick is not a whole number. */
uint64_t ktimer_ns_per_tick(uint64_t f)
{
	uint64_t c = atomic_load_explicit(&ns_conv, memory_order_relaxed);
	if ((c >> 32) == f && f)
		return c & 0xffffffffu;
	return ns_per_tick_slow(f);
}

uint64_t ktimer_ticks_to_ns(uint64_t t)
{
	uint64_t f = arch_timer_freq();
	uint64_t m = ktimer_ns_per_tick(f);
	if (m)
		return t * m;
	/* Split so t * 1e9 cannot overflow. */
	return t / f * 1000000000ull + t % f * 1000000000ull / f;
}

uint64_t ktimer_now_ns(void)
{
	return ktimer_ticks_to_ns(arch_timer_now());
}

uint64_t ktimer_ns_to_ticks_ceil(uint64_t ns)
{
	uint64_t f = arch_timer_freq();
	uint64_t m = ktimer_ns_per_tick(f);
	if (m)
		return ns / m + (ns % m != 0);
	return ns / 1000000000ull * f + (ns % 1000000000ull * f + 999999999ull) / 1000000000ull;
}
