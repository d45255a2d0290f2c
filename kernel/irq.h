/* Device interrupt handlers by number, dispatched from trap_irq(). */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <stdint.h>

#define IRQ_MAX 256

typedef void (*irq_handler)(void *arg);

/* Install `fn` for `irq`, route it to `hart` and enable it.  Returns 0, or
 * -1 if irq is out of range or already taken. */
int irq_register(unsigned irq, irq_handler fn, void *arg, unsigned hart);

struct irq_stats {
	uint64_t device;     /* device interrupts dispatched */
	uint64_t spurious;   /* claimed with no handler (then disabled) */
	uint64_t timer;      /* timer interrupts */
	uint64_t ipi;        /* inter-processor interrupts */
};
extern struct irq_stats irq_stats;

#endif /* KERNEL_IRQ_H */
