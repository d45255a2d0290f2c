/* aarch64 user mode: EL0 contexts, the syscall ABI (svc #0, x8, x0..x5) and arch_user_run's C half. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/aarch64/cpu.h"
#include "arch/aarch64/sysreg.h"
#include "arch/aarch64/trapframe.h"

_Static_assert(offsetof(struct user_regs, x[30]) == UR_X(30), "ur x30");
_Static_assert(offsetof(struct user_regs, sp) == UR_SP, "ur sp");
_Static_assert(offsetof(struct user_regs, pc) == UR_PC, "ur pc");
_Static_assert(offsetof(struct user_regs, pstate) == UR_PSTATE, "ur pstate");
_Static_assert(offsetof(struct user_regs, tpidr) == UR_TPIDR, "ur tpidr");
_Static_assert(offsetof(struct user_regs, fp) == UR_FP, "ur fp");
_Static_assert(offsetof(struct user_regs, fpcr) == UR_FPCR, "ur fpcr");
_Static_assert(offsetof(struct user_regs, fpsr) == UR_FPSR, "ur fpsr");
_Static_assert(sizeof(struct user_regs) == UR_SIZE, "ur size");
_Static_assert(offsetof(struct a64_fpregs, q[31]) == FPR_Q(31), "fpr q31");
_Static_assert(sizeof(struct a64_fpregs) == FPR_SIZE, "fpr size");

/* Reasons the vector slots hand to uentry.S's exit path (vectors.S). */
#define A64_USER_SYNC 0
#define A64_USER_IRQ  1

enum user_exit a64_user_exit_slow(struct user_regs *u, struct trap_info *info,
				  uint64_t reason, uint64_t daif);
_Static_assert(USER_EXIT_SYSCALL == 0, "uentry.S returns 0 for a syscall");

/* ELF e_machine of aarch64 programs (EM_AARCH64). */
const unsigned arch_elf_machine = 183;

/* SPSR for a fresh user: EL0t (M = 0), AArch64, D/A/I/F all clear. */
#define SPSR_USER_INIT 0

void arch_uregs_init(struct user_regs *u, uint64_t pc, uint64_t sp,
		     uint64_t arg0, uint64_t arg1)
{
	memset(u, 0, sizeof(*u));
	u->pc = pc;
	u->sp = sp;
	u->x[0] = arg0;
	u->x[1] = arg1;
	u->pstate = SPSR_USER_INIT;
}

size_t arch_uregs_fp_size(void)
{
	return sizeof(struct a64_fpregs);
}

void arch_uregs_fp_attach(struct user_regs *u, void *area)
{
	/* Zeroed registers, and FPCR 0: round to nearest, no FP traps. */
	u->fp = area;
	u->fpcr = 0;
	u->fpsr = 0;
}

void *arch_uregs_fp_detach(struct user_regs *u)
{
	void *area = u->fp;
	u->fp = NULL;
	return area;
}

uint64_t arch_uregs_pc(const struct user_regs *u)
{
	return u->pc;
}

uint64_t arch_uregs_sp(const struct user_regs *u)
{
	return u->sp;
}

void arch_uregs_dump(const struct user_regs *u)
{
	a64_dump_gprs(u->x);
	printf("  sp   %016" PRIx64 "\n", u->sp);
	printf("pc   %016" PRIx64 "  spsr %016" PRIx64 "  tpidr %016" PRIx64
	       "  fpsr %08" PRIx64 "\n", u->pc, u->pstate, u->tpidr, u->fpsr);
}

/* Serve an IRQ that interrupted the user exactly as the kernel path does;
 * the handlers get a frame describing the user context. */
static void a64_user_irq(const struct user_regs *u)
{
	struct trap_frame tf;

	memcpy(tf.x, u->x, sizeof(tf.x));
	tf.sp = u->sp;
	tf.elr = u->pc;
	tf.spsr = u->pstate;
	tf.esr = 0;
	tf.far = 0;
	tf.fpcr = u->fpcr;
	tf.fpsr = u->fpsr;
	if (u->fp)
		memcpy(tf.q, u->fp->q, sizeof(tf.q));
	else
		memset(tf.q, 0, sizeof(tf.q));
	a64_trap_irq_entry(&tf);
}

static enum trap_kind a64_fault_kind(uint64_t esr)
{
	switch (ESR_EC(esr)) {
	case EC_IABT_LOWER:
	case EC_DABT_LOWER:
	case EC_PC_ALIGN:
	case EC_SP_ALIGN:
		return TRAP_KIND_MEMORY;
	case EC_UNKNOWN:
	case EC_ILLEGAL:
	case EC_SYSREG:
	case EC_WFX:     /* wfi at EL0 (SCTLR_EL1.nTWI = 0): illegal, as on riscv64 */
		return TRAP_KIND_ILLEGAL;
	case EC_BRK64:
		return TRAP_KIND_BREAKPOINT;
	default:
		return TRAP_KIND_OTHER;
	}
}

static void a64_user_fault(const struct user_regs *u,
			   struct trap_info *info, uint64_t esr)
{
	unsigned ec = ESR_EC(esr);

	info->what = a64_trap_describe(esr, arch_hart_id());
	info->kind = a64_fault_kind(esr);
	info->cause = esr;
	info->has_addr = a64_ec_sets_far(ec);
	info->addr = info->has_addr ? r_far_el1() : 0;
	info->has_insn = false;
	info->pc = u->pc;
	info->from_user = true;
}

/*
 * The rest of arch_user_run after anything but a syscall (uentry.S jumps
 * here in a tail call, the user state saved, IRQs still masked): serve
 * an IRQ or describe the fault, then put the caller's DAIF back.
 */
enum user_exit a64_user_exit_slow(struct user_regs *u, struct trap_info *info,
				  uint64_t reason, uint64_t daif)
{
	enum user_exit x;

	if (reason == A64_USER_IRQ) {
		a64_user_irq(u);
		x = USER_EXIT_IRQ;
	} else if (ESR_EC(r_esr_el1()) == EC_FP_ACCESS && !u->fp) {
		/* First FP/SIMD use: the caller attaches an area.  With one
		 * attached the access cannot trap (FPEN 0b11), so if it
		 * somehow does, it is reported as a fault below rather than
		 * looping here. */
		x = USER_EXIT_FP;
	} else {
		a64_user_fault(u, info, r_esr_el1());
		x = USER_EXIT_FAULT;
	}
	w_daif(daif);
	return x;
}
