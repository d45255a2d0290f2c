/* Device interrupt handlers by number, dispatched from trap_irq(); where each device's interrupts go. */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"

#define IRQ_MAX 256

typedef void (*irq_handler)(void *arg);

/*
 * Routing policy (docs/kernel.md, "Device interrupts"): each device
 * interrupt goes to exactly one hart.  IRQ_HART_ANY lets the kernel
 * choose: devices are dealt round-robin, in registration order, to the
 * harts other than 0 that take device interrupts, starting with hart 1
 * (with no such hart, everything goes to hart 0).  Until the secondaries are online
 * (irq_harts_online) every interrupt goes to hart 0.
 */
#define IRQ_HART_ANY (~0u)

/* Install `fn` for `irq`, route it to `hart` (or IRQ_HART_ANY) and enable
 * it.  Returns 0, or -1 if irq is out of range or already taken. */
int irq_register(unsigned irq, irq_handler fn, void *arg, unsigned hart);

/* kmain, once the secondaries are up: `mask` has bit h set for every hart
 * that is online.  Deals the IRQ_HART_ANY interrupts over them and moves
 * any interrupt routed to a hart that is not online to hart 0. */
void irq_harts_online(uint32_t mask);
/* The harts that take device interrupts (bit h; hart 0 always, though
 * devices are dealt to it only when it is the only one). */
uint32_t irq_harts_taking(void);

/* The hart `irq` is routed to, or -1 if nobody handles it. */
int irq_route(unsigned irq);

/*
 * A hart that waits for a device synchronously (block_on, a busy ktest),
 * with interrupts masked, brackets its check-then-wfi with these:
 *
 *     f = arch_irq_save(); irq_wait_begin();
 *     if (!done) arch_wait_for_interrupt();
 *     irq_wait_end(); arch_irq_restore(f);
 *
 * The device's interrupt may be taken on another hart; after running a
 * handler, that hart sends an IPI to every hart between begin and end,
 * so the wake its handler made is never left waiting for the next tick.
 * (Executor tasks need nothing of this: their wakes unpark the worker.)
 */
void irq_wait_begin(void);
void irq_wait_end(void);

/* Counters since boot, per hart (irq_hart_stats[h]: the interrupts hart h
 * took).  Only hart h writes its own, in its interrupt handlers with
 * interrupts masked, so an increment is a plain relaxed load and store
 * (no atomic read-modify-write, which is a retry loop on ARMv8.0); any
 * hart may read them.  irq_total() adds them up for all harts, with the
 * timer interrupts that kernel/ktimer.c counts in its per-hart state. */
struct irq_stats {
	_Atomic uint64_t device;     /* device interrupts dispatched */
	_Atomic uint64_t spurious;   /* claimed with no handler (then disabled) */
	_Atomic uint64_t ipi;        /* inter-processor interrupts */
};
extern struct irq_stats irq_hart_stats[SMP_MAX];

struct irq_counts {
	uint64_t device, spurious, timer, ipi;
};
struct irq_counts irq_total(void);

#define IRQ_COUNT(field) IRQ_COUNT_ON(field, arch_hart_id())

/* The same on hart h, the calling hart (arch_hart_id()). */
#define IRQ_COUNT_ON(field, h)                                                             \
	do {                                                                               \
		unsigned irq_h_ = (h);                                                     \
		if (irq_h_ < SMP_MAX) {                                                    \
			_Atomic uint64_t *irq_c_ = &irq_hart_stats[irq_h_].field;          \
			atomic_store_explicit(irq_c_,                                      \
				atomic_load_explicit(irq_c_, memory_order_relaxed) + 1,    \
				memory_order_relaxed);                                     \
		}                                                                          \
	} while (0)

#endif /* KERNEL_IRQ_H */
