/* GICv3 interrupt controller for aarch64 (arch-private declarations). */
#ifndef ARCH_AARCH64_GIC_H
#define ARCH_AARCH64_GIC_H

/* GIC INTID ranges: SGIs are software-generated (our IPIs), PPIs private
 * to a PE (the timers), SPIs shared (devices); 1020-1023 are special. */
#define GIC_SGI_MAX       16
#define GIC_PPI_MAX       32
#define GIC_SPURIOUS_MIN  1020
#define GIC_INTID_MAX     1020

#define GIC_IPI_SGI       0    /* the one SGI Pollux uses for arch_send_ipi */
#define GIC_TIMER_PPI_DEFAULT 30  /* EL1 physical timer, if the DT says none */

#endif /* ARCH_AARCH64_GIC_H */
