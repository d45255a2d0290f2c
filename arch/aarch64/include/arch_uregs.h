/* aarch64 saved user context: the layout the EL0 trap path saves and restores. */
#ifndef ARCH_AARCH64_INCLUDE_ARCH_UREGS_H
#define ARCH_AARCH64_INCLUDE_ARCH_UREGS_H

#include <stdint.h>

/* x0..x30, sp_el0, pc (elr), pstate (spsr), the EL0 TLS register, and the
 * FP/SIMD state: picolibc's string functions use q registers. */
struct user_regs {
	uint64_t x[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
	uint64_t tpidr;
	uint64_t fpcr, fpsr;
	_Alignas(16) __uint128_t q[32];
};

#endif /* ARCH_AARCH64_INCLUDE_ARCH_UREGS_H */
