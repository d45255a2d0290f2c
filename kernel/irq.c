/* Device interrupt dispatch: claim from the controller, run the handler, complete. */
#include <stdio.h>

#include "arch/arch.h"
#include "kernel/irq.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"
#include "kernel/trace.h"

static struct {
	irq_handler fn;
	void *arg;
	unsigned hart;  /* where it is routed */
	bool any;       /* registered with IRQ_HART_ANY: the policy places it */
} handlers[IRQ_MAX];

struct irq_stats irq_hart_stats[SMP_MAX];

struct irq_counts irq_total(void)
{
	struct irq_counts c = { 0, 0, 0, 0 };
	for (unsigned h = 0; h < SMP_MAX; h++) {
		const struct irq_stats *s = &irq_hart_stats[h];
		c.device += atomic_load_explicit(&s->device, memory_order_relaxed);
		c.spurious += atomic_load_explicit(&s->spurious, memory_order_relaxed);
		c.timer += ktimer_irqs_on(h);
		c.ipi += atomic_load_explicit(&s->ipi, memory_order_relaxed);
	}
	return c;
}

/* Harts that take device interrupts (bit h), and the round-robin cursor.
 * Registration and irq_harts_online run at boot, on hart 0, one at a time. */
static uint32_t online_mask = 1;
static unsigned deal_next = 1;

/* The next online hart in round-robin order, starting from hart 1; hart
 * 0 (which boots, and runs the first process) only when no other hart
 * takes device interrupts. */
static unsigned deal_hart(void)
{
	uint32_t others = online_mask & ~1u;
	if (!others)
		return 0;
	for (;;) {
		unsigned h = deal_next++ % SMP_MAX;
		if (others & (1u << h))
			return h;
	}
}

int irq_register(unsigned irq, irq_handler fn, void *arg, unsigned hart)
{
	if (irq == 0 || irq >= IRQ_MAX || handlers[irq].fn)
		return -1;
	handlers[irq].fn = fn;
	handlers[irq].arg = arg;
	handlers[irq].any = hart == IRQ_HART_ANY;
	if (handlers[irq].any)
		hart = online_mask == 1 ? 0 : deal_hart();
	else if (hart >= SMP_MAX)
		hart = 0;
	handlers[irq].hart = hart;
	arch_irqc_set_priority(irq, 1);
	arch_irqc_enable(irq, hart);
	return 0;
}

uint32_t irq_harts_taking(void)
{
	return online_mask;
}

void irq_harts_online(uint32_t mask)
{
	online_mask = arch_irqc_spread_ok() ? mask | 1u : 1u;
	deal_next = 1;
	for (unsigned irq = 1; irq < IRQ_MAX; irq++) {
		if (!handlers[irq].fn)
			continue;
		unsigned h = handlers[irq].hart;
		if (handlers[irq].any)
			h = deal_hart();
		else if (!(online_mask & (1u << h)))
			h = 0;
		if (h != handlers[irq].hart) {
			handlers[irq].hart = h;
			arch_irqc_enable(irq, h); /* routes it there, away from the old hart */
		}
	}
}

int irq_route(unsigned irq)
{
	if (irq == 0 || irq >= IRQ_MAX || !handlers[irq].fn)
		return -1;
	return (int)handlers[irq].hart;
}

_Static_assert(SMP_MAX <= 32, "hart masks are 32 bits");

/* Harts between irq_wait_begin and irq_wait_end (bit h). */
static _Atomic uint32_t sync_waiters;

void irq_wait_begin(void)
{
	/* seq_cst, as the handler side's load: either the handler sees this
	 * bit, or the waiter's check that follows sees the handler's wake. */
	atomic_fetch_or(&sync_waiters, 1u << arch_hart_id());
	atomic_thread_fence(memory_order_seq_cst);
}

void irq_wait_end(void)
{
	atomic_fetch_and(&sync_waiters, ~(1u << arch_hart_id()));
}

static void kick_sync_waiters(void)
{
	atomic_thread_fence(memory_order_seq_cst); /* the handlers' wakes first */
	uint32_t w = atomic_load(&sync_waiters) & ~(1u << arch_hart_id());
	for (unsigned h = 0; w; h++, w >>= 1)
		if (w & 1)
			arch_send_ipi(h);
}

/* Runs with interrupts masked.  Claims until the controller has nothing
 * pending, so one trap serves every device that raised a line. */
void trap_irq(struct trap_frame *tf)
{
	unsigned irq;
	bool entered = false;

	(void)tf;
	/* On aarch64 the claim itself delivers timer and IPI interrupts (to
	 * trap_timer/trap_ipi); count a device wake-up only for a device. */
	while ((irq = arch_irqc_claim()) != 0) {
		if (!entered) {
			ktask_trap_enter(WAKE_DEVICE);
			entered = true;
		}
		KTR_IRQ(irq);
		if (irq < IRQ_MAX && handlers[irq].fn) {
			IRQ_COUNT(device);
			handlers[irq].fn(handlers[irq].arg);
		} else {
			/* Nobody listens: silence it rather than take it forever. */
			IRQ_COUNT(spurious);
			arch_irqc_disable(irq);
			printf("irq: no handler for interrupt %u; disabled it\n", irq);
		}
		arch_irqc_complete(irq);
	}
	if (entered) {
		kick_sync_waiters();
		ktask_trap_exit();
	}
}

void trap_ipi(struct trap_frame *tf)
{
	(void)tf;
	ktask_trap_enter(WAKE_IPI);
	KTR(PX_TR_IPI_RECV, 0, 0, 0);
	IRQ_COUNT(ipi);
	ktask_trap_exit();
}
