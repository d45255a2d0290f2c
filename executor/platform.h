/* Link-time hooks each environment (kernel, user, host) supplies to executor/. */
#ifndef EXECUTOR_PLATFORM_H
#define EXECUTOR_PLATFORM_H

/*
 * These are the only symbols executor/ needs from outside itself at link
 * time.  Time, parking and unparking are per-executor and arrive at run time
 * through struct exec_platform (see exec.h), so a test can swap in a
 * recording fake without relinking.
 *
 * kernel: exec_irq_save/restore mask interrupts on the calling hart
 *         (arch_irq_save/restore); exec_assert_fail panics.
 * user:   no interrupts; save/restore are no-ops (inline: EXEC_NO_IRQ).
 * host:   no-ops (inline: EXEC_NO_IRQ); exec_assert_fail prints and aborts.
 */

/* Mask whatever could re-enter executor code on this CPU (interrupt
 * handlers).  Nests.  Not a lock between CPUs.
 *
 * An environment without interrupt handlers (host, user mode) builds with
 * -DEXEC_NO_IRQ: then they are inline no-ops instead of link-time hooks,
 * so each spin lock is an exchange and a store with no calls around it
 * (on the host, about 10 instructions per lock round trip). */
#ifdef EXEC_NO_IRQ
static inline unsigned long exec_irq_save(void)
{
	return 0;
}

static inline void exec_irq_restore(unsigned long flags)
{
	(void)flags;
}
#else
unsigned long exec_irq_save(void);
void exec_irq_restore(unsigned long flags);
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

#endif /* EXECUTOR_PLATFORM_H */
