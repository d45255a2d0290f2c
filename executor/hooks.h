/* The hooks each environment (kernel, user, host) supplies to executor/: link-time and run-time. */
#ifndef EXECUTOR_HOOKS_H
#define EXECUTOR_HOOKS_H

#include <stdint.h>

/*
 * Everything executor/ needs from outside itself, in two kinds:
 *
 *  - compile- and link-time functions, declared first: interrupt masking
 *    and the assertion and lab-stub reports.
 *      kernel: exec_irq_save/restore mask interrupts on the calling hart,
 *        inline here (arch_irq_save/restore, arch/arch.h); asserts panic
 *        (kernel/exec_glue.c).
 *      user (user/lib/exec_glue.c): no interrupts, so save/restore are
 *        inline no-ops (EXEC_NO_IRQ); asserts exit with status 134.
 *      host (executor/host/hooks.c): inline no-ops (EXEC_NO_IRQ); asserts
 *        print and abort.
 *  - run-time hooks, struct exec_hooks at the end: time, parking and
 *    unparking, per executor (exec_init copies them), so a test can swap
 *    in a recording fake without relinking.  The kernel's are in
 *    kernel/ktask.c, user mode's in user/lib/reactor.c, the host's in
 *    executor/host/hooks.c.
 */

/* Mask whatever could re-enter executor code on this CPU (interrupt
 * handlers).  Nests.  Not a lock between CPUs.
 *
 * An environment without interrupt handlers (host, user mode) builds with
 * -DEXEC_NO_IRQ: then they are inline no-ops, so each spin lock is an
 * exchange and a store (on the host, about 10 instructions per lock
 * round trip).  The kernel's are the arch's inline masking. */
#ifdef EXEC_NO_IRQ
static inline unsigned long exec_irq_save(void)
{
	return 0;
}

static inline void exec_irq_restore(unsigned long flags)
{
	(void)flags;
}

static inline void exec_spin_hint(void)
{
}
#else
/* The kernel: arch/arch.h's masking, which is inline (one or two
 * instructions each way), so a spin lock costs no call either. */
#include "arch/arch.h"

static inline unsigned long exec_irq_save(void)
{
	return arch_irq_save();
}

static inline void exec_irq_restore(unsigned long flags)
{
	arch_irq_restore(flags);
}

/* Once per turn of a spin-wait loop (kernel: arch_cpu_relax). */
static inline void exec_spin_hint(void)
{
	arch_cpu_relax();
}
#endif

/* Called when an EXEC_ASSERT fails.  Must not return. */
_Noreturn void exec_assert_fail(const char *expr, const char *file, int line);

/* Course labs (docs/labs/): a starter tree's stub reports once, on the
 * console, which function the student has to write.  kernel and user:
 * printf; host: stderr.  Unused in the full tree. */
void exec_lab_todo(const char *line);
#define EXEC_LAB_TODO(line)                     \
	do {                                    \
		static int exec_lab_said_;      \
		if (!exec_lab_said_) {          \
			exec_lab_said_ = 1;     \
			exec_lab_todo(line);    \
		}                               \
	} while (0)

#ifdef EXEC_NDEBUG
#define EXEC_ASSERT(e) ((void)0)
#else
#define EXEC_ASSERT(e) \
	((e) ? (void)0 : exec_assert_fail(#e, __FILE__, __LINE__))
#endif

/*
 * The run-time hooks.  Every hook gets ctx.
 *
 *   now_ns(ctx)            monotonic time.  Any context.
 *   park(ctx, w, dl)       block worker w until unpark(w), until the time
 *                          dl (ns; UINT64_MAX: none) or spuriously.  An
 *                          unpark that came first must make it return at
 *                          once (a token, as Rust's thread::park).
 *   unpark(ctx, w)         wake worker w or make its next park return.
 *                          Any context, including interrupt handlers;
 *                          must not poll.
 *
 * Which worker the calling thread/CPU runs is the executor's own
 * thread-local exec_self (exec.h); an environment with interrupt handlers
 * brackets each handler with exec_interrupt_enter/exec_interrupt_exit.
 */
struct exec_hooks {
	uint64_t (*now_ns)(void *ctx);
	void (*park)(void *ctx, unsigned worker, uint64_t deadline_ns);
	void (*unpark)(void *ctx, unsigned worker);
	void *ctx;
};

#endif /* EXECUTOR_HOOKS_H */
