/* GICv3 driver: distributor, per-hart redistributor, system-register CPU interface, SGIs. */
#include <stdint.h>

#include "arch/arch.h"
#include "arch/aarch64/cpu.h"
#include "arch/aarch64/gic.h"
#include "arch/aarch64/machine.h"
#include "arch/aarch64/sysreg.h"
#include "arch/aarch64/trapframe.h"

/*
 * GICv3 only (QEMU: -machine virt,gic-version=3).  A device tree that
 * names a GICv2 stops the boot with a message saying so.
 *
 * All interrupts are Group 1 (non-secure), delivered as IRQ, acknowledged
 * through ICC_IAR1_EL1 and ended with ICC_EOIR1_EL1 (EOImode 0: the EOI
 * both drops the running priority and deactivates).  Affinity routing is
 * on, so SPIs go to the PE named in GICD_IROUTER<n>, and SGIs/PPIs are
 * configured in each PE's own redistributor.
 */

/* Distributor (GICD) */
#define GICD_CTLR          0x0000
#define GICD_TYPER         0x0004
#define GICD_IGROUPR       0x0080
#define GICD_ISENABLER     0x0100
#define GICD_ICENABLER     0x0180
#define GICD_ICPENDR       0x0280
#define GICD_IPRIORITYR    0x0400
#define GICD_IGRPMODR      0x0d00
#define GICD_IROUTER       0x6000
#define GICD_PIDR2         0xffe8

#define GICD_CTLR_ENABLE_G1  (1u << 1)   /* EnableGrp1 (DS=1) / EnableGrp1A */
#define GICD_CTLR_ARE        (1u << 4)   /* ARE (DS=1) / ARE_NS */
#define GICD_CTLR_RWP        (1u << 31)

/* Redistributor (GICR): RD_base frame, then SGI_base frame at +64 KiB */
#define GICR_CTLR          0x0000
#define GICR_TYPER         0x0008
#define GICR_WAKER         0x0014
#define GICR_SGI_BASE      0x10000
#define GICR_IGROUPR0      (GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0    (GICR_SGI_BASE + 0x0100)
#define GICR_ICENABLER0    (GICR_SGI_BASE + 0x0180)
#define GICR_ICPENDR0      (GICR_SGI_BASE + 0x0280)
#define GICR_IPRIORITYR    (GICR_SGI_BASE + 0x0400)
#define GICR_IGRPMODR0     (GICR_SGI_BASE + 0x0d00)

#define GICR_CTLR_RWP          (1u << 3)
#define GICR_TYPER_VLPIS       (1u << 1)
#define GICR_TYPER_LAST        (1u << 4)
#define GICR_WAKER_SLEEP       (1u << 1)  /* ProcessorSleep */
#define GICR_WAKER_ASLEEP      (1u << 2)  /* ChildrenAsleep */
#define GICR_FRAME_V3          0x20000    /* RD + SGI frames */
#define GICR_FRAME_V4          0x40000    /* plus VLPI + reserved frames */

/* CPU interface */
#define ICC_SRE_SRE        (1u << 0)
#define ICC_CTLR_EOIMODE   (1u << 1)
#define ICC_IAR_INTID      0xffffffu

/* Priorities: lower value = more urgent.  QEMU implements 5 bits, so
 * only the top five matter.  PMR 0xff lets every priority below it in. */
#define GIC_PRIO_DEFAULT   0xa0
#define GIC_PRIO_TIMER     0x80
#define GIC_PRIO_IPI       0x80
#define GIC_PMR_ALL        0xff

static uintptr_t gicd;
static uintptr_t gicr_region;
static uint64_t gicr_region_size;
static unsigned gic_nlines;      /* INTIDs the distributor implements */
static unsigned gic_timer_ppi;
static uintptr_t gicr_of_hart[SMP_MAX];

static inline uint32_t rd32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

static inline void wr32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline uint64_t rd64(uintptr_t a)
{
	return *(volatile uint64_t *)a;
}

static inline void wr64(uintptr_t a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}

static inline void wr8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

/* Register-write-pending: enable/disable changes are done when RWP clears. */
static void gicd_wait_rwp(void)
{
	while (rd32(gicd + GICD_CTLR) & GICD_CTLR_RWP)
		;
}

static void gicr_wait_rwp(uintptr_t rd)
{
	while (rd32(rd + GICR_CTLR) & GICR_CTLR_RWP)
		;
}

/* Affinity as GICR_TYPER[63:32] spells it: Aff3.Aff2.Aff1.Aff0. */
static uint32_t mpidr_to_gicr_aff(uint64_t mpidr)
{
	return (uint32_t)(MPIDR_AFF3(mpidr) << 24 | MPIDR_AFF2(mpidr) << 16 |
			  MPIDR_AFF1(mpidr) << 8 | MPIDR_AFF0(mpidr));
}

static uint64_t hart_mpidr(unsigned hart)
{
	if (hart < a64_machine.nharts && hart < SMP_MAX)
		return a64_machine.hart_hwid[hart];
	return hart;  /* no device tree yet: QEMU virt's Aff0 = index */
}

/* A GIC we cannot drive means no timer and no console input: the
 * kernel stops the boot with the reason. */
static int gic_fail(const char **why, const char *msg)
{
	*why = msg;
	return -1;
}

int arch_irqc_init(const char **why)
{
	const struct arch_machine *m = &a64_machine;

	if (m->irqc_kind == ARCH_IRQC_GICV2)
		return gic_fail(why, "the device tree describes a GICv2; Pollux drives GICv3 only "
				"(run QEMU with -machine virt,gic-version=3)");
	if (m->irqc_kind != ARCH_IRQC_GICV3 || m->irqc_base == 0 || m->irqc2_base == 0)
		return gic_fail(why, "no GICv3 distributor/redistributor in the device tree");

	gicd = (uintptr_t)m->irqc_base;
	gicr_region = (uintptr_t)m->irqc2_base;
	gicr_region_size = m->irqc2_size;
	gic_timer_ppi = m->timer_irq ? m->timer_irq : GIC_TIMER_PPI_DEFAULT;

	uint32_t archrev = (rd32(gicd + GICD_PIDR2) >> 4) & 0xf;
	if (archrev != 3 && archrev != 4)
		return gic_fail(why, "the distributor is not a GICv3/v4 (GICD_PIDR2.ArchRev)");

	/* Quiesce, then turn on affinity routing before anything else: the
	 * meaning of several registers depends on it. */
	wr32(gicd + GICD_CTLR, 0);
	gicd_wait_rwp();
	wr32(gicd + GICD_CTLR, GICD_CTLR_ARE);
	gicd_wait_rwp();

	gic_nlines = ((rd32(gicd + GICD_TYPER) & 0x1f) + 1) * 32;
	if (gic_nlines > GIC_INTID_MAX)
		gic_nlines = GIC_INTID_MAX;

	/* SPIs: disabled, not pending, Group 1 non-secure, default priority,
	 * routed to the boot hart until arch_irqc_enable says otherwise. */
	uint64_t boot = r_mpidr_el1() & MPIDR_AFF_MASK;
	for (unsigned i = GIC_PPI_MAX; i < gic_nlines; i += 32) {
		wr32(gicd + GICD_ICENABLER + i / 8, 0xffffffffu);
		wr32(gicd + GICD_ICPENDR + i / 8, 0xffffffffu);
		wr32(gicd + GICD_IGROUPR + i / 8, 0xffffffffu);
		wr32(gicd + GICD_IGRPMODR + i / 8, 0);
	}
	for (unsigned i = GIC_PPI_MAX; i < gic_nlines; i++) {
		wr8(gicd + GICD_IPRIORITYR + i, GIC_PRIO_DEFAULT);
		wr64(gicd + GICD_IROUTER + 8 * i, boot);
	}
	gicd_wait_rwp();

	wr32(gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
	gicd_wait_rwp();
	return 0;
}

/* This PE's redistributor: the frame whose GICR_TYPER affinity matches. */
static uintptr_t gicr_find(uint64_t mpidr)
{
	uint32_t aff = mpidr_to_gicr_aff(mpidr);
	uintptr_t rd = gicr_region;

	while (rd + GICR_FRAME_V3 <= gicr_region + gicr_region_size) {
		uint64_t typer = rd64(rd + GICR_TYPER);
		if ((uint32_t)(typer >> 32) == aff)
			return rd;
		if (typer & GICR_TYPER_LAST)
			break;
		rd += (typer & GICR_TYPER_VLPIS) ? GICR_FRAME_V4 : GICR_FRAME_V3;
	}
	return 0;
}

int arch_irqc_init_hart(const char **why)
{
	unsigned hart = arch_hart_id();
	uintptr_t rd = gicr_find(r_mpidr_el1());

	if (rd == 0)
		return gic_fail(why, "no redistributor for this CPU's MPIDR");
	if (hart < SMP_MAX)
		gicr_of_hart[hart] = rd;

	/* Wake the redistributor: it forwards nothing while asleep. */
	wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & ~GICR_WAKER_SLEEP);
	while (rd32(rd + GICR_WAKER) & GICR_WAKER_ASLEEP)
		;

	/* SGIs and PPIs: all Group 1, all off, then our two on. */
	wr32(rd + GICR_ICENABLER0, 0xffffffffu);
	gicr_wait_rwp(rd);
	wr32(rd + GICR_ICPENDR0, 0xffffffffu);
	wr32(rd + GICR_IGROUPR0, 0xffffffffu);
	wr32(rd + GICR_IGRPMODR0, 0);
	for (unsigned i = 0; i < GIC_PPI_MAX; i++)
		wr8(rd + GICR_IPRIORITYR + i, GIC_PRIO_DEFAULT);
	wr8(rd + GICR_IPRIORITYR + GIC_IPI_SGI, GIC_PRIO_IPI);
	wr8(rd + GICR_IPRIORITYR + gic_timer_ppi, GIC_PRIO_TIMER);
	wr32(rd + GICR_ISENABLER0, (1u << GIC_IPI_SGI) | (1u << gic_timer_ppi));

	/* CPU interface through system registers. */
	w_icc_sre_el1(r_icc_sre_el1() | ICC_SRE_SRE);
	a64_isb();
	if ((r_icc_sre_el1() & ICC_SRE_SRE) == 0)
		return gic_fail(why, "cannot enable the system-register CPU interface (ICC_SRE_EL1)");
	w_icc_pmr_el1(GIC_PMR_ALL);
	w_icc_bpr1_el1(0);
	w_icc_ctlr_el1(r_icc_ctlr_el1() & ~(uint64_t)ICC_CTLR_EOIMODE);
	w_icc_igrpen1_el1(1);
	a64_isb();
	return 0;
}

/* Redistributor of `hart` for SGI/PPI settings; the caller's if unknown. */
static uintptr_t gicr_for(unsigned hart)
{
	if (hart < SMP_MAX && gicr_of_hart[hart])
		return gicr_of_hart[hart];
	return gicr_find(r_mpidr_el1());
}

void arch_irqc_enable(unsigned irq, unsigned hart)
{
	if (irq < GIC_PPI_MAX) {
		uintptr_t rd = gicr_for(hart);
		if (rd)
			wr32(rd + GICR_ISENABLER0, 1u << irq);
		return;
	}
	if (irq >= gic_nlines)
		return;
	/* Interrupt_Routing_Mode 0: exactly the PE named by the affinity. */
	wr64(gicd + GICD_IROUTER + 8 * irq, hart_mpidr(hart) & MPIDR_AFF_MASK);
	wr32(gicd + GICD_ISENABLER + 4 * (irq / 32), 1u << (irq % 32));
}

/*
 * Devices may go to any PE.  (Under -icount QEMU 7.2 runs every hart on
 * one host thread in turn; a hart spinning on a lock kept that thread
 * until the next virtual timer, sometimes a minute away, while the hart
 * holding the lock waited its turn: the ktest suite at -smp 4 hung in
 * console_flood once the UART's SPI went to hart 1.  spin locks now YIELD
 * on every turn of the wait (arch_cpu_relax), which QEMU takes as the
 * end of that hart's turn.)
 */
bool arch_irqc_spread_ok(void)
{
	return true;
}

void arch_irqc_disable(unsigned irq)
{
	if (irq < GIC_PPI_MAX) {
		uintptr_t rd = gicr_for(arch_hart_id());
		if (rd) {
			wr32(rd + GICR_ICENABLER0, 1u << irq);
			gicr_wait_rwp(rd);
		}
		return;
	}
	if (irq >= gic_nlines)
		return;
	wr32(gicd + GICD_ICENABLER + 4 * (irq / 32), 1u << (irq % 32));
	gicd_wait_rwp();
}

/*
 * The contract's priorities grow with urgency from 1 (lowest); the GIC's
 * shrink.  Map 1..14 onto 0xe0..0x10 in steps of 16 (the 4 top bits every
 * GIC implements); 0 means "never", like a PLIC priority of 0: 0xff is not
 * below the priority mask, so it is never signalled.
 */
void arch_irqc_set_priority(unsigned irq, unsigned prio)
{
	uint8_t p;

	if (prio == 0)
		p = 0xff;
	else
		p = (uint8_t)(0xf0 - 0x10 * (prio > 14 ? 14 : prio));

	if (irq < GIC_PPI_MAX) {
		uintptr_t rd = gicr_for(arch_hart_id());
		if (rd)
			wr8(rd + GICR_IPRIORITYR + irq, p);
	} else if (irq < gic_nlines) {
		wr8(gicd + GICD_IPRIORITYR + irq, p);
	}
}

/*
 * Claim, called by the kernel's trap_irq() in a loop until it returns 0.
 * Every interrupt on aarch64 arrives as one IRQ exception, so the timer
 * and IPIs are sorted out here and handed to trap_timer()/trap_ipi(),
 * keeping the arch-neutral loop the same as riscv's:
 *
 *   read ICC_IAR1_EL1 (acknowledges: pending -> active)
 *     1020..1023  nothing (more) pending           -> return 0
 *     timer PPI   disable the timer (its level would re-assert), EOI,
 *                 trap_timer(tf)                   -> return 0
 *     SGI 0..15   EOI, trap_ipi(tf)                -> return 0
 *     other       return the INTID; the kernel runs the device handler
 *                 and calls arch_irqc_complete() -> ICC_EOIR1_EL1
 *
 * The timer and SGIs are ended before their handler runs so that a
 * handler re-arming the timer or sending an IPI to itself is not lost.
 * After one of them the claim does not read the IAR again to find
 * nothing: each acknowledged INTID has had its EOI, and an interrupt
 * still pending keeps the CPU's IRQ line up, so it is taken as soon as
 * interrupts are unmasked again (the trap's return, or the park's
 * caller restoring them), no later than the next read would have found
 * it.  A device interrupt is still followed by another read (the
 * kernel's loop serves every device that raised a line in one trap).
 * tf is the frame of the IRQ being served (a64_trap_frame_current()).
 */
/* An INTID that a64_idle_irq acknowledged but left to the kernel's
 * claim loop, plus one (0: none).  The loop's next arch_irqc_claim on
 * this hart takes it instead of reading the IAR. */
static _Thread_local unsigned claim_held;

unsigned arch_irqc_claim(void)
{
	unsigned intid = claim_held;
	if (__builtin_expect(intid != 0, 0)) {
		claim_held = 0;
		intid--;
	} else {
		intid = (unsigned)(r_icc_iar1_el1() & ICC_IAR_INTID);
	}

	if (intid >= GIC_SPURIOUS_MIN && intid < 1024)
		return 0;
	if (intid == gic_timer_ppi) {
		a64_timer_ack();
		w_icc_eoir1_el1(intid);
		trap_timer(a64_trap_frame_current());
		return 0;
	}
	if (intid < GIC_SGI_MAX) {
		w_icc_eoir1_el1(intid);
		trap_ipi(a64_trap_frame_current());
		return 0;
	}
	return intid;
}

/*
 * The IRQ that ended arch_idle_wait (vectors.S's short path).  Most
 * often it is the timer that ends a park: served here, without the
 * kernel's claim loop (trap_irq) and its frame pointer.  The EOI comes
 * after trap_timer, and no a64_timer_ack before it: trap_timer always
 * writes the next deadline or turns the timer off, which drops the
 * timer's level; if that deadline is already past, the level stays up,
 * the interrupt is pending again after the EOI and is taken when
 * interrupts are unmasked, as it should be.  Anything else goes the
 * usual way, its INTID already acknowledged (claim_held).
 */
void a64_idle_irq(struct trap_frame *tf)
{
	unsigned intid = (unsigned)(r_icc_iar1_el1() & ICC_IAR_INTID);

	if (__builtin_expect(intid == gic_timer_ppi, 1)) {
		trap_timer(tf);
		w_icc_eoir1_el1(intid);
		return;
	}
	if (intid >= GIC_SPURIOUS_MIN && intid < 1024)
		return;
	claim_held = intid + 1;
	a64_trap_irq_entry(tf);
}

void arch_irqc_complete(unsigned irq)
{
	w_icc_eoir1_el1(irq);
}

/*
 * IPI = SGI 0 to one PE, named in ICC_SGI1R_EL1 by Aff3.Aff2.Aff1 plus a
 * 16-bit target list of Aff0 values (RS selects which block of 16).  The
 * dsb makes our earlier stores (e.g. a queued task) visible to the target
 * before its interrupt can be taken.
 */
void arch_send_ipi(unsigned hart)
{
	uint64_t m = hart_mpidr(hart);
	uint64_t aff0 = MPIDR_AFF0(m);
	uint64_t v = (MPIDR_AFF3(m) << 48) | ((aff0 >> 4) << 44) |
		     (MPIDR_AFF2(m) << 32) | ((uint64_t)GIC_IPI_SGI << 24) |
		     (MPIDR_AFF1(m) << 16) | (1UL << (aff0 & 0xf));

	__asm__ volatile("dsb ishst" : : : "memory");
	w_icc_sgi1r_el1(v);
	a64_isb();
}
