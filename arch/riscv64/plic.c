/* riscv64 PLIC: device interrupt enable, priority, claim/complete per hart. */
#include "arch/arch.h"
#include "arch/riscv64/machine.h"

/*
 * Register map (PLIC spec): priority[src] at 4*src; enable bits for context
 * c at 0x2000 + 0x80*c; threshold and claim/complete at 0x200000 +
 * 0x1000*c (+0, +4).  On QEMU virt each hart has two contexts, M then S,
 * so the S-mode context of hart h is 2h + 1.
 */
#define PLIC_PRIORITY(s) (4 * (s))
#define PLIC_ENABLE(c) (0x2000 + 0x80 * (c))
#define PLIC_THRESHOLD(c) (0x200000 + 0x1000 * (c))
#define PLIC_CLAIM(c) (0x200004 + 0x1000 * (c))
#define PLIC_MAX_SRC 1024

static uintptr_t plic_base;

static volatile uint32_t *plic_reg(uint64_t off)
{
	return (volatile uint32_t *)(plic_base + off);
}

static unsigned plic_ctx(unsigned hart)
{
	return 2 * (unsigned)rv_machine.hart_hwid[hart] + 1;
}

int arch_irqc_init(const char **why)
{
	if (rv_machine.irqc_kind != ARCH_IRQC_PLIC || rv_machine.irqc_base == 0) {
		*why = "no PLIC in the device tree";
		return -1;
	}
	plic_base = rv_machine.irqc_base;
	return 0;
}

int arch_irqc_init_hart(const char **why)
{
	(void)why; /* nothing here can fail */
	unsigned ctx = plic_ctx(arch_hart_id());
	for (unsigned w = 0; w < PLIC_MAX_SRC / 32; w++)
		plic_reg(PLIC_ENABLE(ctx) + 4 * w)[0] = 0;
	*plic_reg(PLIC_THRESHOLD(ctx)) = 0;
	return 0;
}

/* Route `irq` to exactly one hart: enable it in that hart's S context and
 * disable it in every other, so one device interrupt wakes one hart. */
void arch_irqc_enable(unsigned irq, unsigned hart)
{
	if (irq == 0 || irq >= PLIC_MAX_SRC)
		return;
	for (unsigned h = 0; h < rv_machine.nharts; h++) {
		volatile uint32_t *en = plic_reg(PLIC_ENABLE(plic_ctx(h)) + 4 * (irq / 32));
		if (h == hart)
			*en |= 1u << (irq % 32);
		else
			*en &= ~(1u << (irq % 32));
	}
	if (*plic_reg(PLIC_PRIORITY(irq)) == 0)
		*plic_reg(PLIC_PRIORITY(irq)) = 1;
}

bool arch_irqc_spread_ok(void)
{
	return true;
}

void arch_irqc_disable(unsigned irq)
{
	if (irq == 0 || irq >= PLIC_MAX_SRC)
		return;
	for (unsigned h = 0; h < rv_machine.nharts; h++)
		*plic_reg(PLIC_ENABLE(plic_ctx(h)) + 4 * (irq / 32)) &= ~(1u << (irq % 32));
}

void arch_irqc_set_priority(unsigned irq, unsigned prio)
{
	if (irq == 0 || irq >= PLIC_MAX_SRC)
		return;
	*plic_reg(PLIC_PRIORITY(irq)) = prio ? prio : 1;
}

unsigned arch_irqc_claim(void)
{
	return *plic_reg(PLIC_CLAIM(plic_ctx(arch_hart_id())));
}

void arch_irqc_complete(unsigned irq)
{
	*plic_reg(PLIC_CLAIM(plic_ctx(arch_hart_id()))) = irq;
}
