/* The kernel's executor: its task pools and hooks (clock, park in WFI, unpark by token and IPI). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/console.h"
#include "kernel/irq.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"
#include "kernel/trace.h"

struct executor kernel_exec;
struct hart_stats hart_stats[SMP_MAX];

#define SMALL_SLOT TASK_SIZE(KTASK_SMALL_MAX)
#define LARGE_SLOT TASK_SIZE(KTASK_LARGE_MAX)
static _Alignas(16) unsigned char small_mem[KTASK_SMALL_COUNT][SMALL_SLOT];
static _Alignas(16) unsigned char large_mem[KTASK_LARGE_COUNT][LARGE_SLOT];
struct task_pool ktask_small = TASK_POOL_INIT(small_mem, SMALL_SLOT, KTASK_SMALL_COUNT);
struct task_pool ktask_large = TASK_POOL_INIT(large_mem, LARGE_SLOT, KTASK_LARGE_COUNT);

/* Lab 8 starter only: the longest a stub park sleeps. */
#define PARK_POLL_MS 10u
#define PARK_POLL_NS (PARK_POLL_MS * 1000000ull)

/* Per hart: the unpark token, and whether a park is in progress. */
static atomic_uint token[SMP_MAX];
_Thread_local struct exec_worker *ktask_trap_saved_worker;
_Thread_local unsigned ktask_trap_depth;
_Thread_local int ktask_parked;
_Thread_local uint64_t *ktask_park_wakeups;

/*
 * The executor's clock (two reads per poll with EXEC_POLL_TIMING).
 * ktask_init fills clock_ns_per_tick (ktimer_clock_init: ktimer_now_ns's
 * multiplier too) before exec_init's first read; the
 * device tree has set the timer frequency by then and it never changes
 * afterwards, so a read is the counter times one constant, with no
 * frequency lookup and no fence.  0: a tick is no whole number of ns,
 * or ktask_init has not run: convert the slow way.
 */
static uint64_t clock_ns_per_tick;

static uint64_t hook_now(void *ctx)
{
	(void)ctx;
	uint64_t m = clock_ns_per_tick;
	if (__builtin_expect(m != 0, 1))
		return arch_timer_now() * m;
	return ktimer_now_ns();
}

/*
 * Sleep until an interrupt, the deadline, or an unpark.  Interrupts are
 * masked while we test the token and enter arch_idle_wait, so an unpark
 * (or any interrupt) arriving after the test still ends the wait at once;
 * arch_idle_wait runs the handlers on the arch's short trap path before
 * it returns.  The deadline is programmed on every park, so a stale one
 * never wakes an idle hart.
 */
bool (*ktask_idle_hook)(void);

static void hook_park(void *ctx, unsigned w, uint64_t deadline_ns)
{
	(void)ctx;
	if (ktask_idle_hook && ktask_idle_hook())
		atomic_store(&token[w], 1u); /* it queued work: look again */
#ifdef IDLE_SPIN
	/* The deliberately wasteful comparison build (make IDLE=spin): poll
	 * the token and the clock with interrupts on, as a tick-less kernel
	 * without WFI would.  make bench measures what this costs the host. */
	hart_stats[w].parks++;
	while (!atomic_exchange(&token[w], 0u) &&
	       (deadline_ns == UINT64_MAX || ktimer_now_ns() < deadline_ns))
		;
	return;
#endif
	/* LAB 8 BEGIN */
	unsigned long f = arch_irq_save();
	if (!atomic_exchange(&token[w], 0u)) {
		ktimer_set_park(deadline_ns == UINT64_MAX ? ARCH_TIMER_OFF
							  : ktimer_ns_to_ticks_ceil(deadline_ns));
		hart_stats[w].parks++;
		ktask_parked = 1;
		arch_idle_wait();
	}
	arch_irq_restore(f);
	/* Interrupts taken on unmask cleared `ktask_parked`; if none was, WFI
	 * ended without one being taken. */
	if (ktask_parked) {
		ktask_parked = 0;
		hart_stats[w].spurious++;
	}
	atomic_store(&token[w], 0u);
	/* LAB 8 STUB
	// Stub: no token to test, and no unpark will come (its stub sends no
	// IPI): sleep until an interrupt, but never longer than PARK_POLL_NS,
	// so work queued for this hart waits at most that long.  Live, but
	// every idle hart wakes 1000 / PARK_POLL_MS times a second.
	uint64_t poll = ktimer_now_ns() + PARK_POLL_NS;
	unsigned long f = arch_irq_save();
	ktimer_set_park(ktimer_ns_to_ticks_ceil(deadline_ns < poll ? deadline_ns : poll));
	arch_wait_for_interrupt();
	arch_irq_restore(f);
	(void)w;
	   LAB 8 END */
}

/* Any context.  The hart itself needs no IPI: either it is running (and
 * will look at its queues) or this is one of its interrupt handlers,
 * after which park returns. */
static void hook_unpark(void *ctx, unsigned w)
{
	(void)ctx;
	/* LAB 8 BEGIN */
	atomic_store(&token[w], 1u);
	if (w != arch_hart_id())
		arch_send_ipi(w);
	/* LAB 8 STUB
	// Stub: tell nobody.  Hart w notices its work when the stub park's
	// PARK_POLL_NS timer ends its WFI.
	(void)w;
	(void)token;
	   LAB 8 END */
}

/*
 * The executor's park: hook_park, timed.  Under -icount the instruction
 * counter runs on while a hart sleeps (QEMU advances it with the
 * virtual clock), so benchmarks of the disk subtract the idle time
 * (user/ubench.c).  The span includes the interrupt handlers that run
 * when park unmasks interrupts after the sleep: the few thousand
 * instructions of a wake-up count as idle.  The clock reading that ends
 * the span also serves the worker as the time to fire its timers at
 * (exec_worker.park_now_ns), in the same ns as hook_now.
 */
static void hook_park_timed(void *ctx, unsigned w, uint64_t deadline_ns)
{
	/* What the wake-up needs, looked up before the sleep (the empty
	 * asm keeps each in a register across it: no instruction). */
	struct hart_stats *hs = &hart_stats[w];
	struct exec_worker *self = exec_self;
	uint64_t ns_per_tick = clock_ns_per_tick;
	__asm__("" : "+r"(hs), "+r"(self), "+r"(ns_per_tick));
	ktask_park_wakeups = hs->wakeups;	/* for the handler that ends it */

	uint64_t t0 = arch_timer_now();
	arch_idle_account_begin();
	hook_park(ctx, w, deadline_ns);
	uint64_t t1 = arch_timer_now();
	/* Only this hart writes its own sum (others read it): no atomic
	 * read-modify-write. */
	__atomic_store_n(&hs->idle_ticks,
	                 __atomic_load_n(&hs->idle_ticks, __ATOMIC_RELAXED) + t1 - t0,
	                 __ATOMIC_RELAXED);
	/* The parking worker (exec_self: park is called from its loop)
	 * fires its timers up to this reading: no second one.  0 when a
	 * tick is no whole number of ns: it reads the clock itself. */
	self->park_now_ns = t1 * ns_per_tick;
}

/* Counted in timer ticks, converted once here: the wake-up path reads the
 * bare counter, with no conversion to ns. */
uint64_t ktask_idle_ns(void)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < SMP_MAX; i++)
		sum += __atomic_load_n(&hart_stats[i].idle_ticks, __ATOMIC_RELAXED);
	return ktimer_ticks_to_ns(sum);
}

#ifdef EXEC_TRACE
/* The tracing kernel's unpark: an unpark of another hart is where
 * hook_unpark sends its IPI (the trace pairs it with the IPI's arrival). */
static void hook_unpark_traced(void *ctx, unsigned w)
{
	if (w != arch_hart_id())
		KTR(PX_TR_IPI_SEND, w, 0, 0);
	hook_unpark(ctx, w);
}
#define HOOK_UNPARK hook_unpark_traced
#else
#define HOOK_UNPARK hook_unpark
#endif

void ktask_trap_enter(enum wake_src src)
{
	ktask_trap_note(src);
	ktask_wakes_enter();
}

void ktask_trap_exit(void)
{
	ktask_trap_exit_inl();
}

void ktask_init(unsigned nharts)
{
	static const struct exec_hooks hooks = {
		hook_now, hook_park_timed, HOOK_UNPARK, NULL,
	};
	/* LAB 8 BEGIN */
	/* LAB 8 STUB
	// The stubs of hook_park and hook_unpark do not print: park runs in
	// the middle of tests that own the console (a printf turns the UART
	// transmit interrupt off), unpark inside interrupt handlers.  They
	// matter only with several harts (make qemu SMP=4).  Delete these
	// lines once both functions are written.
	if (nharts > 1) {
		printf("LAB 8: implement hook_park (kernel/ktask.c)\n");
		printf("LAB 8: implement hook_unpark (kernel/ktask.c)\n");
	}
	   LAB 8 END */
	KTR_INIT();
	clock_ns_per_tick = ktimer_clock_init();
	exec_init(&kernel_exec, &hooks, nharts, EXEC_POLL_TIMING);
}

_Noreturn void ktask_run(void)
{
	exec_worker_run(&kernel_exec, arch_hart_id(), true);
	for (;;)
		arch_wait_for_interrupt();
}

static void write_sync(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	console_write_sync(s, n);
}

void ktask_print_table(void)
{
	exec_print_tasks(&kernel_exec, write_sync, NULL);
	for (unsigned h = 0; h < kernel_exec.nworkers; h++) {
		const struct hart_stats *s = &hart_stats[h];
		const struct irq_stats *is = &irq_hart_stats[h];
		printf("hart %u: %llu parks, woken by timer %llu, device %llu, ipi %llu, "
		       "other %llu; interrupts taken: device %llu, timer %llu, ipi %llu\n", h,
		       (unsigned long long)s->parks,
		       (unsigned long long)s->wakeups[WAKE_TIMER],
		       (unsigned long long)s->wakeups[WAKE_DEVICE],
		       (unsigned long long)s->wakeups[WAKE_IPI],
		       (unsigned long long)s->spurious,
		       (unsigned long long)atomic_load(&is->device),
		       (unsigned long long)ktimer_irqs_on(h),
		       (unsigned long long)atomic_load(&is->ipi));
	}
}
