/* aarch64 boot identity map: 1 GiB blocks, Device below RAM, Normal cacheable from RAM up. */
#include <stdint.h>

#include "arch/aarch64/mmu.h"
#include "arch/aarch64/sysreg.h"

/*
 * This file runs before the MMU is on, when every data access is treated
 * as Device memory and an unaligned one faults.  GCC may otherwise merge or
 * widen accesses assuming unaligned is fine, so compile it strictly.
 */
#pragma GCC target("strict-align")

/*
 * Translation regime: TTBR0_EL1 only, 4 KiB granule, 39-bit VA
 * (T0SZ = 25), so the walk starts at level 1, whose entries map 1 GiB each.
 * The map is the identity (VA = PA) for the first 4 GiB:
 *
 *   0 - 1 GiB   Device-nGnRnE, never executable: flash, GIC, UART, RTC,
 *               virtio-mmio and the rest of QEMU virt's MMIO
 *   1 - 4 GiB   Normal write-back cacheable, inner shareable: RAM (starting
 *               at 0x40000000) and room for larger -m values
 *
 * arch_vm_init (vm.c) replaces it with the kernel's real, W^X page tables
 * once the frame allocator works; this table stays (in .bss) for the early
 * boot of every hart.  vm.c relies on the MAIR indices and TCR set here.
 */
#define MAIR_IDX_DEVICE 0
#define MAIR_IDX_NORMAL 1
#define MAIR_VALUE      ((0x00UL << (8 * MAIR_IDX_DEVICE)) | \
			 (0xffUL << (8 * MAIR_IDX_NORMAL)))

/* Level-1 block descriptor fields. */
#define PTE_VALID       (1UL << 0)
#define PTE_BLOCK       (0UL << 1)   /* bit 1 clear at level 1/2: block */
#define PTE_ATTR(i)     ((uint64_t)(i) << 2)
#define PTE_AP_RW_EL1   (0UL << 6)
#define PTE_SH_INNER    (3UL << 8)
#define PTE_AF          (1UL << 10)  /* set, or the first access faults */
#define PTE_PXN         (1UL << 53)
#define PTE_UXN         (1UL << 54)

#define L1_BLOCK_SHIFT  30
#define IDMAP_GIB       4

/* TCR_EL1 */
#define TCR_T0SZ(n)     ((uint64_t)(n) << 0)
#define TCR_IRGN0_WBWA  (1UL << 8)
#define TCR_ORGN0_WBWA  (1UL << 10)
#define TCR_SH0_INNER   (3UL << 12)
#define TCR_TG0_4K      (0UL << 14)
#define TCR_T1SZ(n)     ((uint64_t)(n) << 16)
#define TCR_EPD1        (1UL << 23)  /* no TTBR1 walks: upper half unused */
#define TCR_TG1_4K      (2UL << 30)
#define TCR_IPS(n)      ((uint64_t)(n) << 32)
#define VA_BITS         39

/* SCTLR_EL1 bits beyond sysreg.h's.  nTWI stays 0: WFI at EL0 traps
 * (EC_WFX), and the kernel treats it as an illegal instruction, as on
 * riscv64, where U-mode may not execute wfi either.  WFE (no riscv
 * counterpart; user spin loops may use it) stays allowed. */
#define SCTLR_NTWE      (1UL << 18)

#define CACHE_LINE_MIN  64

static uint64_t a64_idmap_l1[512] __attribute__((aligned(4096)));

static void a64_idmap_build(void)
{
	for (uint64_t gib = 0; gib < IDMAP_GIB; gib++) {
		uint64_t pte = (gib << L1_BLOCK_SHIFT) | PTE_VALID | PTE_BLOCK |
			       PTE_AF | PTE_AP_RW_EL1;
		if (gib == 0)
			pte |= PTE_ATTR(MAIR_IDX_DEVICE) | PTE_PXN | PTE_UXN;
		else
			pte |= PTE_ATTR(MAIR_IDX_NORMAL) | PTE_SH_INNER;
		a64_idmap_l1[gib] = pte;
	}

	/* The table was written with the MMU off, straight to memory; drop
	 * any stale cached copy so the cacheable table walk sees it. */
	for (uintptr_t p = (uintptr_t)a64_idmap_l1;
	     p < (uintptr_t)a64_idmap_l1 + sizeof(a64_idmap_l1); p += CACHE_LINE_MIN)
		__asm__ volatile("dc ivac, %0" : : "r"(p) : "memory");
	a64_dsb_sy();
}

void a64_mmu_init(void)
{
	a64_idmap_build();

	/* Physical address size: copy what the CPU supports (PARange). */
	uint64_t parange = r_id_aa64mmfr0_el1() & 0xf;
	if (parange > 5)
		parange = 5;

	w_mair_el1(MAIR_VALUE);
	w_tcr_el1(TCR_T0SZ(64 - VA_BITS) | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA |
		  TCR_SH0_INNER | TCR_TG0_4K | TCR_T1SZ(64 - VA_BITS) |
		  TCR_EPD1 | TCR_TG1_4K | TCR_IPS(parange));
	w_ttbr0_el1((uint64_t)(uintptr_t)a64_idmap_l1);
	w_ttbr1_el1(0);
	a64_isb();

	/* No stale translations or instructions from before. */
	__asm__ volatile("tlbi vmalle1\n\tdsb nsh\n\tic iallu\n\tdsb nsh\n\tisb"
			 : : : "memory");

	w_sctlr_el1(SCTLR_RES1 | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_SA |
		    SCTLR_SA0 | SCTLR_NTWE);
	a64_isb();
}
