/* PSCI firmware calls and semihosting exit (arch-private). */
#ifndef ARCH_AARCH64_PSCI_H
#define ARCH_AARCH64_PSCI_H

#include <stdint.h>

/* PSCI function IDs (SMC Calling Convention: 0x84.. SMC32, 0xc4.. SMC64). */
#define PSCI_FN_VERSION     0x84000000u
#define PSCI_FN_CPU_OFF     0x84000002u
#define PSCI_FN_CPU_ON      0xc4000003u
#define PSCI_FN_SYSTEM_OFF  0x84000008u
#define PSCI_FN_SYSTEM_RESET 0x84000009u

/* PSCI return codes (negative, as the firmware returns them in x0). */
#define PSCI_SUCCESS         0
#define PSCI_E_NOT_SUPPORTED (-1)
#define PSCI_E_INVALID       (-2)
#define PSCI_E_DENIED        (-3)
#define PSCI_E_ALREADY_ON    (-4)

/* Call PSCI function `fn` over the conduit the device tree named
 * (a64_machine.fw); PSCI_E_NOT_SUPPORTED if there is none. */
int64_t a64_psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);

/* PSCI_VERSION as major << 16 | minor, or negative. */
int64_t a64_psci_version(void);

/* CPU_ON: start the PE with affinity `mpidr` at physical `entry`, with
 * `ctx` in its x0, MMU off, at EL1. */
int64_t a64_psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t ctx);

/* Semihosting SYS_EXIT: QEMU exits with `status`.  Returns if semihosting
 * is off: QEMU then treats the hlt as undefined, and trap.c skips it when
 * the faulting PC is a64_semihost_insn. */
void a64_semihost_exit(int status);
extern const char a64_semihost_insn[];

#endif /* ARCH_AARCH64_PSCI_H */
