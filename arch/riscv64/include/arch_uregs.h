/* riscv64 saved user context: the layout the user trap path saves and restores. */
#ifndef ARCH_RISCV64_INCLUDE_ARCH_UREGS_H
#define ARCH_RISCV64_INCLUDE_ARCH_UREGS_H

#include <stdint.h>

/* x1..x31 in x[0..30], then the pc (sepc).  No FP: user code is built
 * soft-float (rv64imac), like the kernel, and sstatus.FS is off.
 * arch/riscv64/trapvec.S saves and loads this layout (uarea.h). */
struct user_regs {
	uint64_t x[31];
	uint64_t pc;
};

/* Register indices into x[]: xN is x[N - 1]. */
#define RV_UREG_SP 1   /* x2 */
#define RV_UREG_A0 9   /* x10 */
#define RV_UREG_A7 16  /* x17 */

/*
 * The syscall accessors of arch/arch.h, inline here because they sit on
 * the null-syscall fast path (arch.h's later declarations of the same
 * functions take their internal linkage from these definitions).
 * Number in a7, arguments in a0..a5, result in a0; the pc moves past the
 * 4-byte ecall (ecall has no compressed form).
 */
static inline uint64_t arch_syscall_nr(const struct user_regs *u)
{
	return u->x[RV_UREG_A7];
}

static inline uint64_t arch_syscall_arg(const struct user_regs *u, unsigned i)
{
	return u->x[RV_UREG_A0 + i];
}

static inline void arch_syscall_return(struct user_regs *u, int64_t value)
{
	u->x[RV_UREG_A0] = (uint64_t)value;
	u->pc += 4;
}

#endif /* ARCH_RISCV64_INCLUDE_ARCH_UREGS_H */
