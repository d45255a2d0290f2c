/* The kernel's executor: one worker per hart, parked in WFI, woken by interrupts. */
#ifndef KERNEL_KEXEC_H
#define KERNEL_KEXEC_H

#include <stdint.h>

#include "executor/exec.h"
#include "executor/task.h"

extern struct executor kexec;

/* Set up the executor with `nharts` workers (before spawning anything). */
void kexec_init(unsigned nharts);

/* Run this hart's worker forever. */
_Noreturn void kexec_run(void);

/* Kernel time: nanoseconds since boot from the arch timer, and back. */
uint64_t kexec_now_ns(void);
uint64_t kexec_ticks_to_ns(uint64_t ticks);
uint64_t kexec_ns_to_ticks_ceil(uint64_t ns);

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
		task_spawn(&kexec, KTASK_POOL_FOR(sizeof(fut)),             \
			   &TASK_DESC_VOID(fut, name), (jh));               \
	})

/* Per-hart counters: how often the hart parked and what woke it. */
enum wake_src { WAKE_TIMER, WAKE_DEVICE, WAKE_IPI, WAKE_NSRC };
struct hart_stats {
	uint64_t parks;
	uint64_t wakeups[WAKE_NSRC];
	uint64_t spurious; /* park returned with no interrupt taken */
};
extern struct hart_stats hart_stats[SMP_MAX];

/* Trap entry points call this first: attributes a wake-up to `src` if the
 * hart was parked, and tracks trap nesting so wakes from interrupt
 * handlers go through the injection queue. */
void kexec_trap_enter(enum wake_src src);
void kexec_trap_exit(void);

/* Ctrl-T: print the task table and per-hart counters. */
void kexec_print_info(void);

#endif /* KERNEL_KEXEC_H */
