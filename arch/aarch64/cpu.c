/* aarch64 CPU-local contract functions: interrupt masking, WFI, generic timer, PMU, hart ids. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/arch.h"
#include "arch/aarch64/cpu.h"
#include "arch/aarch64/machine.h"
#include "arch/aarch64/sysreg.h"
#include "arch/aarch64/trapframe.h"
#include "arch/aarch64/vm.h"

const char arch_name[] = "aarch64";

/* CurrentEL.EL at the first instruction (entry.S). */
uint64_t a64_entry_el;

const char *arch_boot_note(void)
{
	return a64_entry_el == 2 ? ", entered at EL2" : "";
}

uint64_t arch_boot_hwid(void)
{
	return r_mpidr_el1() & MPIDR_AFF_MASK;
}

struct arch_machine a64_machine;

void arch_machine_init(const struct arch_machine *m)
{
	a64_machine = *m;
}

/* ---- Interrupt state: PSTATE.I through DAIF ---------------------------- */

void arch_irq_on(void)
{
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}

void arch_irq_off(void)
{
	__asm__ volatile("msr daifset, #2" : : : "memory");
}

bool arch_irq_enabled(void)
{
	return (r_daif() & DAIF_I) == 0;
}

/*
 * WFI wakes on any pending interrupt the GIC signals to this PE, even one
 * PSTATE.I masks, so callers sleep with I set and take the interrupt after
 * unmasking; no wakeup is lost between "nothing to do" and the wfi.  The
 * dsb makes earlier stores (e.g. a run-queue update) visible first.
 */
static uint64_t wfi_instret[SMP_MAX];

void arch_wait_for_interrupt(void)
{
	/* What arch_instret advanced inside the wfi (interrupts masked
	 * only: unmasked, a handler may run first): 0 when it counts
	 * INST_RETIRED, the sleep when it falls back to the cycle counter. */
	bool masked = !arch_irq_enabled();
	uint64_t t0 = masked ? arch_instret() : 0;
	__asm__ volatile("dsb sy\n\twfi" : : : "memory");
	if (masked) {
		unsigned h = arch_hart_id();
		if (h < SMP_MAX)
			wfi_instret[h] += arch_instret() - t0;
	}
}

/* The event counter stops while the hart sleeps: nothing to leave out. */
void arch_idle_account_begin(void)
{
}

uint64_t arch_wfi_instret(void)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < SMP_MAX; i++)
		sum += __atomic_load_n(&wfi_instret[i], __ATOMIC_RELAXED);
	return sum;
}

/* ---- Generic timer: EL1 physical timer (CNTP_*, PPI INTID 30) ---------- */

uint64_t arch_timer_freq(void)
{
	if (a64_machine.timer_freq != 0)
		return a64_machine.timer_freq;
	return r_cntfrq_el0() & 0xffffffffu;
}

/*
 * One-shot: compare value plus ENABLE with IMASK clear.  The timer output
 * is a level (CNTPCT >= CVAL), so after it fires a64_timer_ack disables it;
 * the next arch_timer_set re-enables it with a new deadline.
 */
void arch_timer_set(uint64_t deadline)
{
	/* LAB 1 BEGIN */
	if (deadline == ARCH_TIMER_OFF) {
		w_cntp_ctl_el0(0);
	} else {
		w_cntp_cval_el0(deadline);
		w_cntp_ctl_el0(CNT_CTL_ENABLE);
	}
	a64_isb();
	/* LAB 1 STUB
	// LAB 1: arm the one-shot timer (docs/labs/lab1.md).  Until then no
	// timer interrupt ever arrives, so nothing that sleeps wakes up.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 1: implement arch_timer_set (arch/aarch64/cpu.c)\n");
	}
	(void)deadline;
	   LAB 1 END */
}

void a64_timer_ack(void)
{
	w_cntp_ctl_el0(0);
	a64_isb();
}

/* ---- PMU: arch_instret ------------------------------------------------- */

/*
 * entry.S switches the PMU on first thing: event counter 0 counts the
 * architectural INST_RETIRED event (0x08), and the cycle counter runs as
 * well.  arch_instret reads the event counter when the PMU implements that
 * event (PMCEID0_EL0 bit 8), else the cycle counter.  QEMU 7.2 implements
 * INST_RETIRED only under -icount, where it counts exactly the guest
 * instructions executed (idle time in WFI excluded); the cycle counter
 * ticks at 1 GHz of virtual time, which under -icount shift=0 adds one per
 * instruction too but keeps running while the CPU sleeps.
 *
 * Event counters are 32 bits wide on this PMU (PMUv3 for Armv8.0), so the
 * high half is kept in software from the overflow flag: exact as long as
 * arch_instret runs at least once per 2^32 instructions, which benchmark
 * use (reads around a measured region) satisfies.
 */
#define INSTRET_UNKNOWN (-1)
static int a64_instret_event = INSTRET_UNKNOWN;  /* .data: valid before .bss is */
static uint64_t a64_instret_high[SMP_MAX];

/* Per hart, from arch_trap_init: the same setup entry.S does for the
 * boot hart, without resetting the counters. */
void a64_pmu_init(void)
{
	w_pmselr_el0(0);
	a64_isb();
	w_pmxevtyper_el0(PMU_EV_INST_RETIRED);
	w_pmccfiltr_el0(0);
	w_pmcr_el0((r_pmcr_el0() & ~(PMCR_P | PMCR_C)) | PMCR_E | PMCR_LC);
	w_pmcntenset_el0(PMCNTEN_C | 1);
	/* User programs may read (never write) the counters, as riscv's
	 * scounteren allows rdinstret: benchmarks count instructions. */
	w_pmuserenr_el0(PMUSERENR_CR | PMUSERENR_ER);
	a64_isb();
}

static uint64_t instret_cycles(void)
{
	a64_isb();
	return r_pmccntr_el0();
}

/* Event counter 0 is read as PMEVCNTR0_EL0 (the register the vectors
 * stamp with), not selected through PMSELR_EL0: no select and isb before
 * the read, which is where the benchmarks' probes end. */
uint64_t arch_instret(void)
{
	if (__builtin_expect(a64_instret_event != 1, 0)) {
		if (a64_instret_event == INSTRET_UNKNOWN)
			a64_instret_event =
				(int)((r_pmceid0_el0() >> PMU_EV_INST_RETIRED) & 1);
		if (!a64_instret_event)
			return instret_cycles();
	}

	unsigned long flags = arch_irq_save();
	uint64_t lo = r_pmevcntr0_el0() & 0xffffffffu;
	unsigned hart = arch_hart_id();
	if (hart >= SMP_MAX) {
		arch_irq_restore(flags);
		return instret_cycles();
	}
	if (r_pmovsclr_el0() & 1) {
		/* Wrapped since the last look; the wrap may have come after
		 * the first read, so read again. */
		w_pmovsclr_el0(1);
		a64_instret_high[hart] += 1ULL << 32;
		lo = r_pmevcntr0_el0() & 0xffffffffu;
	}
	uint64_t v = a64_instret_high[hart] | lo;
	arch_irq_restore(flags);
	return v;
}

/* arch_trap_stamp (arch_cpu.h) reads the frame at this offset. */
_Static_assert(TF_STAMP == A64_CPU_TF_STAMP, "arch_cpu.h's stamp offset");

/* ---- Harts -------------------------------------------------------------- */

int a64_hart_index(uint64_t mpidr)
{
	mpidr &= MPIDR_AFF_MASK;
	for (unsigned i = 0; i < a64_machine.nharts && i < SMP_MAX; i++)
		if ((a64_machine.hart_hwid[i] & MPIDR_AFF_MASK) == mpidr)
			return (int)i;
	return -1;
}

/*
 * The hart index lives in TPIDR_EL1 (EL0 cannot read it; TPIDR_EL0 is
 * picolibc's TLS pointer).  entry.S sets 0 on the boot hart, so it is
 * valid from the first instruction of kmain; a64_hart_id_init then
 * replaces it with the position of this PE's MPIDR in the device tree's
 * /cpus list, once that list is known.  arch_hart_id (arch_cpu.h)
 * reads it.
 */
void arch_hart_init(unsigned hart)
{
	w_tpidr_el1((uint64_t)hart);
}

/* entry.S, on the secondary's own stack with the boot identity map on:
 * move to the kernel root, then join the kernel. */
_Noreturn void a64_secondary_main(unsigned hart);
_Noreturn void a64_secondary_main(unsigned hart)
{
	a64_vm_init_hart();
	kmain_secondary(hart);
}

void a64_hart_id_init(void)
{
	int idx = a64_hart_index(r_mpidr_el1());

	if (idx >= 0)
		w_tpidr_el1((uint64_t)idx);
}

/* ---- Device-tree fallback (fallback_dtb.S) ------------------------------ */

extern const char a64_fallback_dtb_start[];

const void *arch_fallback_dtb(void)
{
	return a64_fallback_dtb_start;
}
