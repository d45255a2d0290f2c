/* The machine as the kernel described it to aarch64's arch code (arch_machine_init). */
#ifndef ARCH_AARCH64_MACHINE_H
#define ARCH_AARCH64_MACHINE_H

#include "arch/arch.h"

/* Set once by arch_machine_init (cpu.c) on the boot hart, before any
 * other hart runs; read-only afterwards. */
extern struct arch_machine a64_machine;

#endif /* ARCH_AARCH64_MACHINE_H */
