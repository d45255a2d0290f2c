/* aarch64 virtual-memory helpers shared inside arch/aarch64 (arch-private). */
#ifndef ARCH_AARCH64_VM_H
#define ARCH_AARCH64_VM_H

#include <stdint.h>

/*
 * Switch the calling hart's TTBR0_EL1 to `ttbr` with the MMU briefly off
 * (entry.S): MMU off, TTBR0 = ttbr, TLBI VMALLE1, MMU on.  No memory is
 * touched while the MMU is off, so it is safe between two maps that give
 * the same addresses different block sizes (break before make).
 * Safety: both the old and the new map must map this code identically.
 */
void a64_mmu_switch(uint64_t ttbr);

/* Secondary harts (a64_secondary_main): after a64_mmu_init (boot map)
 * and the boot hart's arch_vm_init, move this hart to the kernel root. */
void a64_vm_init_hart(void);

#endif /* ARCH_AARCH64_VM_H */
