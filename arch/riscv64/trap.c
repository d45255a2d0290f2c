/* riscv64 trap dispatch: decode scause, hand interrupts and faults to the kernel. */
#include <stdio.h>

#include "arch/arch.h"
#include "arch/riscv64/csr.h"
#include "arch/riscv64/sbi.h"
#include "arch/riscv64/trap.h"
#include "arch/riscv64/trapframe.h"

/* Exception names, by scause code (privileged spec, table "scause"). */
static const char *const exc_names[] = {
	[0] = "instruction address misaligned",
	[1] = "instruction access fault",
	[2] = "illegal instruction",
	[3] = "breakpoint",
	[4] = "load address misaligned",
	[5] = "load access fault",
	[6] = "store/AMO address misaligned",
	[7] = "store/AMO access fault",
	[8] = "environment call from U-mode",
	[9] = "environment call from S-mode",
	[12] = "instruction page fault",
	[13] = "load page fault",
	[15] = "store/AMO page fault",
};

const char *rv_exc_name(uint64_t cause)
{
	if (cause < sizeof(exc_names) / sizeof(exc_names[0]) && exc_names[cause])
		return exc_names[cause];
	return "unknown trap";
}

/* What stval holds for `cause`: the address of a memory fault, the bits
 * of an illegal instruction (0: the hart did not say), else nothing we
 * report (a breakpoint's is its pc). */
void rv_trap_detail(struct trap_info *info, uint64_t cause, uint64_t stval)
{
	switch (cause) {
	case EXC_INSN_MISALIGNED: case EXC_INSN_ACCESS:
	case EXC_LOAD_MISALIGNED: case EXC_LOAD_ACCESS:
	case EXC_STORE_MISALIGNED: case EXC_STORE_ACCESS:
	case EXC_INSN_PAGE: case EXC_LOAD_PAGE: case EXC_STORE_PAGE:
		info->kind = TRAP_KIND_MEMORY;
		info->addr = stval;
		info->has_addr = true;
		break;
	case EXC_ILLEGAL:
		info->kind = TRAP_KIND_ILLEGAL;
		info->insn = stval;
		info->has_insn = stval != 0;
		break;
	case EXC_BREAKPOINT:
		info->kind = TRAP_KIND_BREAKPOINT;
		break;
	}
}

void arch_trap_init(void)
{
	/* sscratch 0: "in the kernel" for the trap vector (uarea.h). */
	w_sscratch(0);
	w_stvec((uint64_t)(uintptr_t)rv_trap_vector);
	/* Kernel and user are soft-float: FP instructions trap as illegal
	 * (no FP state to leak between processes).  User code may read
	 * cycle, time and instret (benchmarks, clocks). */
	CSR_CLEAR(sstatus, SSTATUS_FS);
	w_scounteren(SCOUNTEREN_CY | SCOUNTEREN_TM | SCOUNTEREN_IR);
	rv_user_init_hart();
	sbi_set_timer(ARCH_TIMER_OFF);
	CSR_SET(sie, SIE_SEIE | SIE_STIE | SIE_SSIE);
}

/* Length of the instruction at pc: 2 if compressed, else 4. */
static uint64_t insn_len(uint64_t pc)
{
	return (*(const volatile uint16_t *)(uintptr_t)pc & 3) == 3 ? 4 : 2;
}

bool rv_trap_irq(uint64_t cause, struct trap_frame *tf)
{
	switch (cause & ~SCAUSE_IRQ) {
	case IRQ_S_TIMER:
		/* One-shot: trap_timer programs the next deadline (or none)
		 * before it returns, with interrupts masked throughout, and
		 * that write clears the pending bit; no need to silence the
		 * timer first. */
		trap_timer(tf);
		return true;
	case IRQ_S_SOFT:
		CSR_CLEAR(sip, SIE_SSIE);
		trap_ipi(tf);
		return true;
	case IRQ_S_EXT:
		trap_irq(tf);
		return true;
	}
	return false;
}

void rv_trap(struct trap_frame *tf)
{
	uint64_t cause = tf->scause;

	if (cause & SCAUSE_IRQ) {
		if (rv_trap_irq(cause, tf))
			return;
	} else if (cause == EXC_BREAKPOINT && trap_breakpoint(tf)) {
		tf->sepc += insn_len(tf->sepc);
		return;
	}

	struct trap_info info = {
		.what = "unknown trap",
		.cause = cause,
		.pc = tf->sepc,
		.from_user = !(tf->sstatus & SSTATUS_SPP),
	};
	if (cause & SCAUSE_IRQ) {
		info.what = "unexpected interrupt";
	} else {
		info.what = rv_exc_name(cause);
		rv_trap_detail(&info, cause, tf->stval);
	}
	trap_exception(tf, &info);
}

static const char *const reg_names[31] = {
	"ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1",
	"a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6",
	"s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

void rv_dump_gprs(const uint64_t x[31])
{
	for (int i = 0; i < 31; i++)
		printf("%4s %016llx%s", reg_names[i], (unsigned long long)x[i],
		       i % 4 == 3 ? "\n" : "  ");
}

void arch_dump_frame(const struct trap_frame *tf)
{
	rv_dump_gprs(tf->x);
	printf("\nsepc %016llx  sstatus %016llx  scause %016llx  stval %016llx\n",
	       (unsigned long long)tf->sepc, (unsigned long long)tf->sstatus,
	       (unsigned long long)tf->scause, (unsigned long long)tf->stval);
}

void arch_breakpoint(void)
{
	__asm__ volatile("ebreak" ::: "memory");
}
