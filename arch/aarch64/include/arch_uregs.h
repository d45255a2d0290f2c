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
 *   280   fp        the FP/SIMD save area (struct a64_fpregs), or NULL
 *   288   fpcr, fpsr  (meaningful only while fp is set)
 *   304   end
 *
 * FP/SIMD state is lazy (arch.h): a context starts with fp NULL and EL0
 * FP/SIMD access trapped (CPACR_EL1.FPEN = 0b01); its first use gets it
 * an area.  FPCR and FPSR stay here rather than in the area so the area
 * is exactly 512 bytes: eight to a page in the kernel's FP cache
 * (kernel/proc.c), none wasted.
 */
#define UR_X(n)    ((n) * 8)
#define UR_SP      248
#define UR_PC      256
#define UR_PSTATE  264
#define UR_TPIDR   272
#define UR_FP      280
#define UR_FPCR    288
#define UR_FPSR    296
#define UR_SIZE    304

/* struct a64_fpregs: q0..q31, 16 bytes each. */
#define FPR_Q(n)   ((n) * 16)
#define FPR_SIZE   512

#ifndef __ASSEMBLY__
#include <stdint.h>

struct a64_fpregs {
	/* Two halves each: kernel C is -mgeneral-regs-only and only copies. */
	uint64_t q[32][2];
};

struct user_regs {
	uint64_t x[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
	uint64_t tpidr;
	struct a64_fpregs *fp;
	uint64_t fpcr, fpsr;
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
