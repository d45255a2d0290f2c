/* Device interrupt dispatch: claim from the controller, run the handler, complete. */
#include <stdio.h>

#include "arch/arch.h"
#include "kernel/irq.h"
#include "kernel/ktask.h"
#include "kernel/trace.h"

static struct {
	irq_handler fn;
	void *arg;
} handlers[IRQ_MAX];

struct irq_stats irq_stats;

int irq_register(unsigned irq, irq_handler fn, void *arg, unsigned hart)
{
	if (irq == 0 || irq >= IRQ_MAX || handlers[irq].fn)
		return -1;
	handlers[irq].fn = fn;
	handlers[irq].arg = arg;
	arch_irqc_set_priority(irq, 1);
	arch_irqc_enable(irq, hart);
	return 0;
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
	if (entered)
		ktask_trap_exit();
}

void trap_ipi(struct trap_frame *tf)
{
	(void)tf;
	ktask_trap_enter(WAKE_IPI);
	KTR(PX_TR_IPI_RECV, 0, 0, 0);
	IRQ_COUNT(ipi);
	ktask_trap_exit();
}
