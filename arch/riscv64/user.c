/* riscv64 user mode: user contexts, running one until it traps, and the self-test program. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/riscv64/csr.h"
#include "arch/riscv64/trap.h"
#include "arch/riscv64/trapframe.h"
#include "arch/riscv64/uarea.h"

const unsigned arch_elf_machine = 243; /* EM_RISCV */

/* One area per hart; sscratch points at it while the hart runs user code.
 * Each hart finds its own through TLS (tp), set by rv_user_init_hart. */
static struct rv_uarea rv_uareas[SMP_MAX] __attribute__((aligned(64)));
static _Thread_local struct rv_uarea *rv_uarea_self;

void rv_user_init_hart(void)
{
	rv_uarea_self = &rv_uareas[arch_hart_id()];
}

void arch_uregs_init(struct user_regs *u, uint64_t pc, uint64_t sp,
		     uint64_t arg0, uint64_t arg1)
{
	memset(u, 0, sizeof(*u));
	u->pc = pc;
	u->x[RV_UREG_SP] = sp;
	u->x[RV_UREG_A0] = arg0;
	u->x[RV_UREG_A0 + 1] = arg1;
}

/* No user FP state: programs are rv64imac and sstatus.FS stays off (an
 * FP instruction is an illegal instruction, reported as a fault). */
size_t arch_uregs_fp_size(void)
{
	return 0;
}

void arch_uregs_fp_attach(struct user_regs *u, void *area)
{
	(void)u;
	(void)area;
}

void *arch_uregs_fp_detach(struct user_regs *u)
{
	(void)u;
	return NULL;
}

uint64_t arch_uregs_pc(const struct user_regs *u)
{
	return u->pc;
}

uint64_t arch_uregs_sp(const struct user_regs *u)
{
	return u->x[RV_UREG_SP];
}

void arch_uregs_dump(const struct user_regs *u)
{
	rv_dump_gprs(u->x);
	printf("  pc %016llx\n", (unsigned long long)u->pc);
}

/* An interrupt taken in user mode: handle it exactly as rv_trap does.
 * The kernel's handlers get a trap frame describing the user context. */
static void __attribute__((noinline)) rv_user_irq(struct user_regs *u, uint64_t cause)
{
	struct trap_frame tf;
	memcpy(tf.x, u->x, sizeof(tf.x));
	tf.sepc = u->pc;
	tf.sstatus = r_sstatus();
	tf.scause = cause;
	tf.stval = r_stval();
	tf.stamp = 0; /* no vector stamp: the user trap path records none */
	if (!rv_trap_irq(cause, &tf)) {
		struct trap_info info = {
			.what = "unexpected interrupt", .cause = cause,
			.pc = u->pc, .from_user = true,
		};
		trap_exception(&tf, &info); /* does not return */
	}
}

static void __attribute__((noinline)) rv_user_fault(const struct user_regs *u, uint64_t cause,
						    struct trap_info *info)
{
	*info = (struct trap_info){
		.what = rv_exc_name(cause),
		.kind = TRAP_KIND_OTHER,
		.cause = cause,
		.pc = u->pc,
		.from_user = true,
	};
	rv_trap_detail(info, cause, r_stval());
}

/*
 * The fast path is: mask, enter, trap back, classify as a syscall,
 * restore.  Interrupts stay masked from here until the user runs (sret
 * sets SIE from SPIE = 1) and again from the trap until the restore, so
 * the switch itself never takes an interrupt; one that arrives while the
 * user runs traps to rv_user_trap and is handled below, masked.
 */
enum user_exit arch_user_run(struct user_regs *u, struct trap_info *info)
{
	uint64_t flags = rv_irq_save();
	uint64_t cause = rv_user_enter(u, rv_uarea_self);
	enum user_exit e = USER_EXIT_SYSCALL;

	if (__builtin_expect(cause != EXC_ECALL_U, 0)) {
		if (cause & SCAUSE_IRQ) {
			rv_user_irq(u, cause);
			e = USER_EXIT_IRQ;
		} else {
			rv_user_fault(u, cause, info);
			e = USER_EXIT_FAULT;
		}
	}
	rv_irq_restore(flags);
	return e;
}
