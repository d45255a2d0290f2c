/* Kernel one-shot timer: program the arch deadline only when someone waits. */
#include <stdatomic.h>

#include <stddef.h>

#include "arch/arch.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"

/*
 * Two users share each hart's one-shot timer: the executor's park (the
 * timing wheel's next deadline) and one raw callback (boot self tests and
 * latency benchmarks).  The hardware gets the earlier of the two, or of
 * the running process's time slice; with none, the timer is off: no
 * periodic tick, ever.
 */
struct ktimer_hart ktimer_harts[SMP_MAX] = {
	/* Disarmed, not "due at time 0". */
	[0 ... SMP_MAX - 1] = { .slice = ARCH_TIMER_OFF, .park = ARCH_TIMER_OFF },
};

uint64_t ktimer_last_irq(void)
{
	return ktimer_harts[arch_hart_id()].last_irq;
}

/* Interrupts masked.  Inline in trap_timer (the wake-up path), a call
 * from the others. */
static inline __attribute__((always_inline)) void program_inl(struct ktimer_hart *k)
{
	uint64_t slice = k->slice;
	uint64_t d = k->park < slice ? k->park : slice;
	if (k->fn && k->cb_at < d)
		d = k->cb_at;
	arch_timer_set(d);
}

static void program(struct ktimer_hart *k)
{
	program_inl(k);
}

void ktimer_arm(uint64_t deadline, ktimer_fn fn, void *arg)
{
	unsigned long f = arch_irq_save();
	struct ktimer_hart *k = &ktimer_harts[arch_hart_id()];
	k->cb_at = deadline;
	k->fn = fn;
	k->arg = arg;
	program(k);
	arch_irq_restore(f);
}

void ktimer_cancel(void)
{
	unsigned long f = arch_irq_save();
	struct ktimer_hart *k = &ktimer_harts[arch_hart_id()];
	k->fn = NULL;
	program(k);
	arch_irq_restore(f);
}

/* Called by the executor's park with interrupts masked. */
void ktimer_set_park(uint64_t deadline)
{
	struct ktimer_hart *k = &ktimer_harts[arch_hart_id()];
	k->park = deadline;
	program(k);
}

void ktimer_set_slice(uint64_t deadline)
{
	unsigned long f = arch_irq_save();
	struct ktimer_hart *k = &ktimer_harts[arch_hart_id()];
	k->slice = deadline;
	program(k);
	arch_irq_restore(f);
}

uint64_t ktimer_irq_mark;	/* the latency probe (ktimer.h) */

/* trap_timer's end when the raw callback is due: the callback in the
 * full trap bracket (it may wake tasks, which then go through the
 * injection queue), then the next deadline.  Out of line, so that the
 * common case needs no stack frame. */
static __attribute__((noinline)) void timer_callback(struct ktimer_hart *k, uint64_t now)
{
	ktimer_fn fn = k->fn;
	k->fn = NULL;
	ktask_wakes_enter();
	fn(k->arg, now);
	ktask_wakes_exit();
	program(k);
	ktask_trap_unnote();
}

/*
 * What a timer interrupt does: note it, disarm whatever is due, run the
 * callback if due, and program the next deadline (or none).  That write
 * is what lowers the interrupt (riscv64: a new deadline, by stimecmp
 * or the SBI call, clears the pending bit; aarch64: a later CVAL, or
 * the timer off, drops the level), so the arch need not silence it before calling here; a
 * deadline already past keeps it pending, to be taken again when
 * interrupts are unmasked.  The park's deadline needs nothing more here:
 * the parked worker advances the wheel when the park returns.  Only the
 * callback can wake a task, so only it gets the trap bracket's switch
 * to the injection queue; the rest touches this hart's timer state
 * alone.
 */
void trap_timer(struct trap_frame *tf)
{
	unsigned h = arch_hart_id();
	struct ktimer_hart *k = &ktimer_harts[h];
	uint64_t now = arch_timer_now();

	/* (An empty asm makes k one register: otherwise GCC computes
	 * &ktimer_harts[h] again for each field.  It costs no instruction.) */
	__asm__("" : "+r"(k));
	if (__builtin_expect(ktimer_irq_mark != 0, 0))
		ktimer_irq_mark = arch_trap_stamp(tf);
	ktask_trap_note(WAKE_TIMER);
	/* Only this hart writes its own (others read): no atomic
	 * read-modify-write. */
	__atomic_store_n(&k->irqs, k->irqs + 1, __ATOMIC_RELAXED);
	k->last_irq = now;
	if (k->park <= now)
		k->park = ARCH_TIMER_OFF; /* the worker advances the wheel */
	if (k->slice <= now)
		k->slice = ARCH_TIMER_OFF; /* the process sees it and yields */
	if (__builtin_expect(k->fn && k->cb_at <= now, 0)) {
		timer_callback(k, now);
		return;
	}
	program_inl(k);
	ktask_trap_unnote();
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

/*
 * The clock read's common case: ktimer_clock_init (from ktask_init, once
 * the device tree has fixed the frequency, before other harts start)
 * stores the ns per tick here; a read is then the counter times this
 * constant, with no frequency lookup.  0: not filled yet, or a tick is
 * not a whole number of ns: convert exactly, the slow way.
 */
static uint64_t clock_mult;

uint64_t ktimer_clock_init(void)
{
	clock_mult = ktimer_ns_per_tick(arch_timer_freq());
	return clock_mult;
}

uint64_t ktimer_now_ns(void)
{
	uint64_t m = clock_mult;
	if (__builtin_expect(m != 0, 1))
		return arch_timer_now() * m;
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
