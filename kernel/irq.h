/* Device interrupt handlers by number, dispatched from trap_irq(). */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <stdatomic.h>
#include <stdint.h>

#define IRQ_MAX 256

typedef void (*irq_handler)(void *arg);

/* Install `fn` for `irq`, route it to `hart` and enable it.  Returns 0, or
 * -1 if irq is out of range or already taken. */
int irq_register(unsigned irq, irq_handler fn, void *arg, unsigned hart);

/* Counters since boot, all harts together (exact: every hart adds with
 * an atomic increment; a plain ++ from two harts can lose counts). */
struct irq_stats {
	_Atomic uint64_t device;     /* device interrupts dispatched */
	_Atomic uint64_t spurious;   /* claimed with no handler (then disabled) */
	_Atomic uint64_t timer;      /* timer interrupts */
	_Atomic uint64_t ipi;        /* inter-processor interrupts */
};
extern struct irq_stats irq_stats;

#define IRQ_COUNT(field) \
	atomic_fetch_add_explicit(&irq_stats.field, 1, memory_order_relaxed)

#endif /* KERNEL_IRQ_H */
