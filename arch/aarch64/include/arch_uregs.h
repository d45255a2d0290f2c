/* aarch64 saved user context: the layout the EL0 trap path saves and restores. */
#ifndef ARCH_AARCH64_INCLUDE_ARCH_UREGS_H
#define ARCH_AARCH64_INCLUDE_ARCH_UREGS_H

/*
 * Byte offsets for uentry.S (the _Static_asserts in user.c keep them in
 * step with the struct):
 *
 *     0   x[0..30]
 *   248   sp        SP_EL0
 *   256   pc        ELR_EL1: where eret resumes (after an svc: the svc)
 *   264   pstate    SPSR_EL1 (EL0t; NZCV and the rest as the user left them)
 *   272   tpidr     TPIDR_EL0, the user's TLS pointer
 *   280   fpcr, fpsr
 *   304   q[0..31]  FP/SIMD registers (picolibc's string functions use them)
 *   816   end
 */
#define UR_X(n)    ((n) * 8)
#define UR_SP      248
#define UR_PC      256
#define UR_PSTATE  264
#define UR_TPIDR   272
#define UR_FPCR    280
#define UR_FPSR    288
#define UR_Q(n)    (304 + (n) * 16)
#define UR_SIZE    816

#ifndef __ASSEMBLY__
#include <stdint.h>

struct user_regs {
	uint64_t x[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
	uint64_t tpidr;
	uint64_t fpcr, fpsr;
	/* Two halves each: kernel C is -mgeneral-regs-only and only stores. */
	_Alignas(16) uint64_t q[32][2];
};

/*
 * The syscall accessors of arch/arch.h, inline here because they sit on
 * the null-syscall fast path (arch.h's later declarations of the same
 * functions take their internal linkage from these definitions).
 * svc #0: number in x8, arguments in x0..x5, result in x0.  After a
 * syscall exit pc names the svc itself (as riscv's sepc names the ecall),
 * so returning steps over the 4-byte instruction.
 */
static inline uint64_t arch_syscall_nr(const struct user_regs *u)
{
	return u->x[8];
}

static inline uint64_t arch_syscall_arg(const struct user_regs *u, unsigned i)
{
	return i < 6 ? u->x[i] : 0;
}

static inline void arch_syscall_return(struct user_regs *u, int64_t value)
{
	u->x[0] = (uint64_t)value;
	u->pc += 4;
}
#endif

#endif /* ARCH_AARCH64_INCLUDE_ARCH_UREGS_H */
