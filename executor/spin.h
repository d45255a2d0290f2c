/* A spinlock that also masks interrupts: safe from tasks and trap handlers. */
#ifndef EXECUTOR_SPIN_H
#define EXECUTOR_SPIN_H

#include <stdatomic.h>
#include <stdbool.h>

#include "hooks.h"

/*
 * Hold for a few dozen instructions at most, never across a poll or a
 * wake of unknown cost.  Taking it masks interrupts first, so a trap
 * handler on the same CPU cannot spin on a lock its own CPU holds.
 *
 * Lock order, where two are held: timer wheel before channel/sync locks;
 * no executor lock is held while calling a waker's vtable.
 */
/* Word-sized on purpose: riscv64 has no byte-wide atomic swap and there
 * is no libatomic in a freestanding build. */
struct spin {
	atomic_uint locked;
};

#define SPIN_INIT { 0 }

static inline void spin_init(struct spin *s)
{
	atomic_init(&s->locked, 0u);
}

/* Returns the interrupt state to hand back to spin_unlock. */
static inline unsigned long spin_lock(struct spin *s)
{
	unsigned long flags = exec_irq_save();
	for (;;) {
		if (!atomic_exchange_explicit(&s->locked, 1u, memory_order_acquire))
			return flags;
		while (atomic_load_explicit(&s->locked, memory_order_relaxed))
			exec_spin_hint();
	}
}

static inline void spin_unlock(struct spin *s, unsigned long flags)
{
	atomic_store_explicit(&s->locked, 0u, memory_order_release);
	exec_irq_restore(flags);
}

/* The same lock word without masking interrupts.  Only for a lock that
 * no interrupt handler ever takes (a worker's own registry list): then an
 * interrupt arriving while it is held cannot spin on it, and the two
 * calls to the interrupt-masking hooks are saved.  Other holders may
 * still use spin_lock on the same word. */
static inline void spin_lock_noirq(struct spin *s)
{
	while (atomic_exchange_explicit(&s->locked, 1u, memory_order_acquire))
		while (atomic_load_explicit(&s->locked, memory_order_relaxed))
			exec_spin_hint();
}

static inline void spin_unlock_noirq(struct spin *s)
{
	atomic_store_explicit(&s->locked, 0u, memory_order_release);
}

#endif /* EXECUTOR_SPIN_H */
