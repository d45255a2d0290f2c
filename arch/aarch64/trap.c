/* aarch64 trap dispatch: vector slot and ESR decoding, fault reports, register dump. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/arch.h"
#include "arch/aarch64/cpu.h"
#include "arch/aarch64/psci.h"
#include "arch/aarch64/sysreg.h"
#include "arch/aarch64/trapframe.h"

extern const char a64_vectors[];

/* Per-hart frame of the IRQ being served; see arch_irqc_claim in gic.c.
 * Kernel TLS (TPIDR_EL0), which every path into trap_irq has restored. */
static _Thread_local struct trap_frame *a64_irq_frame;

/* Room for "data abort (translation fault, level 3) on write". */
static char a64_what_buf[SMP_MAX][80];

/*
 * Per-hart trap setup.  Besides the vector base (entry.S set it already on
 * the boot hart), unmask SError: entry.S masked everything, and a masked
 * asynchronous abort would stay pending silently instead of reaching the
 * "unexpected SError" report.  IRQs stay masked until the kernel says;
 * FIQs stay masked for good (Pollux uses only Group 1 interrupts, which
 * arrive as IRQs).
 */
void arch_trap_init(void)
{
	a64_hart_id_init();
	w_vbar_el1((uint64_t)(uintptr_t)a64_vectors);
	a64_isb();
	a64_timer_ack();
	a64_pmu_init();
	/* EL0 may read the counters (CNTVCT_EL0 and CNTPCT_EL0, and
	 * CNTFRQ_EL0), as riscv64's U-mode reads time: user clocks work on
	 * both, and the user side of a trace stamps its records with the
	 * same physical counter as the kernel's.  Nothing else of the timer
	 * is EL0's. */
	w_cntkctl_el1(CNTKCTL_EL0VCTEN | CNTKCTL_EL0PCTEN);
	__asm__ volatile("msr daifclr, #4" : : : "memory");
}

struct trap_frame *a64_trap_frame_current(void)
{
	return a64_irq_frame;
}

static const char *ec_name(unsigned ec)
{
	switch (ec) {
	case EC_UNKNOWN:     return "undefined instruction";
	case EC_WFX:         return "illegal instruction (wfi)";
	case EC_FP_ACCESS:   return "FP/SIMD access trap";
	case EC_ILLEGAL:     return "illegal execution state";
	case EC_SVC64:       return "system call (SVC)";
	case EC_HVC64:       return "HVC";
	case EC_SMC64:       return "SMC";
	case EC_SYSREG:      return "trapped system register access";
	case EC_IABT_LOWER:
	case EC_IABT_CUR:    return "instruction abort";
	case EC_PC_ALIGN:    return "PC alignment fault";
	case EC_DABT_LOWER:
	case EC_DABT_CUR:    return "data abort";
	case EC_SP_ALIGN:    return "SP alignment fault";
	case EC_FP_EXC64:    return "FP exception";
	case EC_SERROR:      return "SError";
	case EC_BRK_LOWER:
	case EC_BRK_CUR:     return "hardware breakpoint";
	case EC_SSTEP_LOWER:
	case EC_SSTEP_CUR:   return "software step";
	case EC_WATCH_LOWER:
	case EC_WATCH_CUR:   return "watchpoint";
	case EC_BRK64:       return "breakpoint (BRK)";
	default:             return "exception";
	}
}

/* Data/instruction fault status code (ESR ISS[5:0]) in words. */
static const char *fsc_name(unsigned fsc)
{
	switch (fsc >> 2) {
	case 0x0: return "address size fault";
	case 0x1: return "translation fault";
	case 0x2: return "access flag fault";
	case 0x3: return "permission fault";
	case 0x5: return "external abort on table walk";
	default: break;
	}
	switch (fsc) {
	case 0x10: return "synchronous external abort";
	case 0x21: return "alignment fault";
	case 0x30: return "TLB conflict";
	default:   return "fault";
	}
}

static bool ec_is_abort(unsigned ec)
{
	return ec == EC_IABT_LOWER || ec == EC_IABT_CUR ||
	       ec == EC_DABT_LOWER || ec == EC_DABT_CUR;
}

/* FAR_EL1 holds an address only for these; otherwise it is UNKNOWN. */
bool a64_ec_sets_far(unsigned ec)
{
	return ec_is_abort(ec) || ec == EC_PC_ALIGN ||
	       ec == EC_WATCH_LOWER || ec == EC_WATCH_CUR;
}

const char *a64_trap_describe(uint64_t esr, unsigned hart)
{
	unsigned ec = ESR_EC(esr);

	if (!ec_is_abort(ec) || hart >= SMP_MAX)
		return ec_name(ec);

	unsigned fsc = ESR_FSC(esr);
	char *buf = a64_what_buf[hart];
	const char *rw = "";
	if (ec == EC_DABT_LOWER || ec == EC_DABT_CUR)
		rw = (esr & ESR_WNR) ? " on write" : " on read";
	if ((fsc >> 2) <= 0x3 || (fsc >> 2) == 0x5)
		snprintf(buf, sizeof(a64_what_buf[0]), "%s (%s, level %u)%s",
			 ec_name(ec), fsc_name(fsc), fsc & 3, rw);
	else
		snprintf(buf, sizeof(a64_what_buf[0]), "%s (%s)%s",
			 ec_name(ec), fsc_name(fsc), rw);
	return buf;
}

static void report(struct trap_frame *tf, const char *what)
{
	struct trap_info info = {
		.what = what,
		.cause = tf->esr,
		.addr = a64_ec_sets_far(ESR_EC(tf->esr)) ? tf->far : 0,
		.has_addr = a64_ec_sets_far(ESR_EC(tf->esr)),
		.pc = tf->elr,
		.from_user = (tf->spsr & SPSR_M_MASK) == SPSR_EL0T,
	};
	trap_exception(tf, &info);
}

static void trap_sync(struct trap_frame *tf)
{
	unsigned ec = ESR_EC(tf->esr);

	if (ec == EC_BRK64 && trap_breakpoint(tf)) {
		tf->elr += 4;
		return;
	}
	/* Semihosting exit without -semihosting: QEMU made the hlt an
	 * undefined instruction; step over it so arch_power_off can try PSCI. */
	if (ec == EC_UNKNOWN && tf->elr == (uint64_t)(uintptr_t)a64_semihost_insn) {
		tf->elr += 4;
		return;
	}
	report(tf, a64_trap_describe(tf->esr, arch_hart_id()));
}

void a64_trap_irq_entry(struct trap_frame *tf)
{
	struct trap_frame *outer = a64_irq_frame;

	a64_irq_frame = tf;
	trap_irq(tf);
	a64_irq_frame = outer;
}

static const char *const vec_names[16] = {
	"synchronous exception on SP_EL0", "IRQ on SP_EL0",
	"FIQ on SP_EL0", "SError on SP_EL0",
	"synchronous exception", "IRQ", "FIQ", "SError",
	"synchronous exception from EL0", "IRQ from EL0",
	"FIQ from EL0", "SError from EL0",
	"synchronous exception from AArch32 EL0", "IRQ from AArch32 EL0",
	"FIQ from AArch32 EL0", "SError from AArch32 EL0",
};

/*
 * Called by vectors.S for every slot but two.  Kernel (EL1 on SP_EL1)
 * sync exceptions and IRQs are handled here; AArch64 EL0's sync and IRQ
 * slots go to uentry.S instead (they end arch_user_run), so the LOW64
 * cases below only matter if EL0 is ever entered some other way.  FIQs,
 * SErrors, EL1 running on SP_EL0 and AArch32 are never set up by Pollux,
 * so they are reported as unexpected with the slot's name.
 */
void a64_trap(struct trap_frame *tf, unsigned long vec)
{
	switch (vec) {
	case VEC_CUR_SPX_SYNC:
	case VEC_LOW64_SYNC:
		trap_sync(tf);
		break;
	case VEC_CUR_SPX_IRQ:
	case VEC_LOW64_IRQ:
		a64_trap_irq_entry(tf);
		break;
	default: {
		unsigned hart = arch_hart_id();
		if (hart < SMP_MAX) {
			snprintf(a64_what_buf[hart], sizeof(a64_what_buf[0]),
				 "unexpected %s (%s)", vec_names[vec & 15],
				 ec_name(ESR_EC(tf->esr)));
			report(tf, a64_what_buf[hart]);
		} else {
			report(tf, vec_names[vec & 15]);
		}
		break;
	}
	}
}

/* x0..x30, four per row (kernel and user contexts alike). */
void a64_dump_gprs(const uint64_t x[31])
{
	for (unsigned i = 0; i < 31; i++) {
		printf("%sx%-3u %016" PRIx64, (i % 4) ? "  " : "", i, x[i]);
		if (i % 4 == 3)
			printf("\n");
	}
}

/* The general registers, then the special registers. */
void arch_dump_frame(const struct trap_frame *tf)
{
	a64_dump_gprs(tf->x);
	printf("  sp   %016" PRIx64 "\n", tf->sp);
	printf("pc   %016" PRIx64 "  spsr %016" PRIx64 "  esr  %016" PRIx64
	       "  far  %016" PRIx64 "\n", tf->elr, tf->spsr, tf->esr, tf->far);
}

void arch_breakpoint(void)
{
	__asm__ volatile("brk #0" : : : "memory");
}
