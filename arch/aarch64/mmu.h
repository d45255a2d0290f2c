/* aarch64 MMU bring-up: the boot identity map (arch-private). */
#ifndef ARCH_AARCH64_MMU_H
#define ARCH_AARCH64_MMU_H

/*
 * Build the boot identity map and turn the MMU and caches on for the
 * calling hart.  Called from entry.S with the MMU off, a valid stack,
 * .bss zeroed and FP/SIMD enabled; before it returns nothing may rely on
 * unaligned accesses or caches.
 */
void a64_mmu_init(void);

#endif /* ARCH_AARCH64_MMU_H */
