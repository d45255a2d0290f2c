/* The machine as the kernel described it to riscv64's arch code (arch_machine_init). */
#ifndef ARCH_RISCV64_MACHINE_H
#define ARCH_RISCV64_MACHINE_H

#include "arch/arch.h"

/* Set once by arch_machine_init (cpu.c) on the boot hart, before any
 * other hart runs; read-only afterwards. */
extern struct arch_machine rv_machine;

#endif /* ARCH_RISCV64_MACHINE_H */
