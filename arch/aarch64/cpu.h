/* aarch64 per-CPU helpers shared inside arch/aarch64 (arch-private). */
#ifndef ARCH_AARCH64_CPU_H
#define ARCH_AARCH64_CPU_H

#include <stdint.h>

/* Turn the PMU counters on for arch_instret() on the calling hart. */
void a64_pmu_init(void);

/* Print x0..x30, four per row (fault reports, kernel and user). */
void a64_dump_gprs(const uint64_t x[31]);

/* Silence the one-shot timer after it fired (level-triggered: it would
 * interrupt again immediately otherwise).  Called from the IRQ path. */
void a64_timer_ack(void);

/* Index 0..n-1 of the hart with MPIDR affinity `mpidr` in the device
 * tree's /cpus order, or -1. */
int a64_hart_index(uint64_t mpidr);

/* Record the calling hart's index (TPIDR_EL1) from its MPIDR; needs
 * arch_machine_init.  Called by arch_trap_init. */
void a64_hart_id_init(void);

#endif /* ARCH_AARCH64_CPU_H */
