/* riscv64 saved user context: the layout the user trap path saves and restores. */
#ifndef ARCH_RISCV64_INCLUDE_ARCH_UREGS_H
#define ARCH_RISCV64_INCLUDE_ARCH_UREGS_H

#include <stdint.h>

/* x1..x31 in x[0..30], then the pc (sepc).  No FP: user code is built
 * soft-float (rv64imac), like the kernel. */
struct user_regs {
	uint64_t x[31];
	uint64_t pc;
};

#endif /* ARCH_RISCV64_INCLUDE_ARCH_UREGS_H */
