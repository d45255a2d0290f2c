/* The kernel's executor: one worker per hart, parked in WFI, woken by interrupts. */
#ifndef KERNEL_KTASK_H
#define KERNEL_KTASK_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/exec.h"
#include "executor/task.h"
#include "kernel/trace.h"

extern struct executor kernel_exec;

/* Set up the executor with `nharts` workers (before spawning anything). */
void ktask_init(unsigned nharts);

/* Run this hart's worker forever. */
_Noreturn void ktask_run(void);


/* Kernel-task storage, static (no heap): many small slots for the common
 * small future, a few large ones for the rest. */
#define KTASK_SMALL_MAX 320
#define KTASK_SMALL_COUNT 1100
#define KTASK_LARGE_MAX 1024
#define KTASK_LARGE_COUNT 16
extern struct task_pool ktask_small, ktask_large;

#define KTASK_POOL_FOR(size) \
	((size) <= KTASK_SMALL_MAX ? &ktask_small.src : &ktask_large.src)

/* Spawn a kernel task whose future is `fut` (copied; its struct must not
 * have been polled); detached unless jh. */
#define KSPAWN(fut, name, jh)                                              \
	({                                                                  \
		_Static_assert(sizeof(fut) <= KTASK_LARGE_MAX, "task too big"); \
		task_spawn(&kernel_exec, KTASK_POOL_FOR(sizeof(fut)),             \
			   &TASK_DESC_VOID(fut, name), (jh));               \
	})

/* Per-hart counters: how often the hart parked and what woke it. */
enum wake_src { WAKE_TIMER, WAKE_DEVICE, WAKE_IPI, WAKE_NSRC };
struct hart_stats {
	uint64_t parks;
	uint64_t wakeups[WAKE_NSRC];
	uint64_t spurious; /* park returned with no interrupt taken */
	uint64_t idle_ticks; /* asleep in park, up to the interrupt that woke it */
};
extern struct hart_stats hart_stats[SMP_MAX];

/* Trap entry points call this first: attributes a wake-up to `src` if the
 * hart was parked, and tracks trap nesting so wakes from interrupt
 * handlers go through the injection queue. */
void ktask_trap_enter(enum wake_src src);
void ktask_trap_exit(void);

/* The same, inline, in its two halves: ktask_trap_note attributes the
 * wake-up (and is the trace's trap entry); ktask_wakes_enter makes this
 * hart count as no worker, so that wakes from the handler go through the
 * injection queue.  A handler that wakes nothing needs only the first
 * (the timer interrupt, but for its callback). */
extern _Thread_local struct exec_worker *ktask_trap_saved_worker;
extern _Thread_local unsigned ktask_trap_depth;
extern _Thread_local int ktask_parked;	/* set while hook_park waits */
/* This hart's hart_stats wakeups[], set by the park before it sleeps. */
extern _Thread_local uint64_t *ktask_park_wakeups;

static inline void ktask_trap_note(enum wake_src src)
{
	KTR_TRAP_ENTER(src);	/* enum wake_src is PX_TR_CAUSE_* */
	if (ktask_parked) {
		ktask_parked = 0;
		ktask_park_wakeups[src]++;
	}
}

static inline void ktask_trap_unnote(void)
{
	KTR_TRAP_EXIT();
}

/* The handler's wakes must not touch the interrupted worker's queues. */
static inline void ktask_wakes_enter(void)
{
	if (ktask_trap_depth++ == 0)
		ktask_trap_saved_worker = exec_interrupt_enter();
}

static inline void ktask_wakes_exit(void)
{
	if (--ktask_trap_depth == 0)
		exec_interrupt_exit(ktask_trap_saved_worker);
}

static inline void ktask_trap_exit_inl(void)
{
	ktask_wakes_exit();
	ktask_trap_unnote();
}

/* Every hart's idle time added up, in ns (PX_KSTAT_IDLE_NS). */
uint64_t ktask_idle_ns(void);

/* Called by a hart about to park, before it sleeps: the test kernel's
 * lost-wake watch (kernel/ktest/ktest.c) looks at every task there.  It
 * returns true if it woke a task, and the park then returns at once.
 * NULL: nothing to call. */
extern bool (*ktask_idle_hook)(void);

/* Ctrl-T: print the task table and per-hart counters. */
void ktask_print_table(void);

#endif /* KERNEL_KTASK_H */
