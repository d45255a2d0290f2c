/* aarch64 page tables: the kernel's W^X map and per-process address spaces (4 KiB granule, 39-bit VA, TTBR0). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arch.h"
#include "arch/aarch64/sysreg.h"
#include "arch/aarch64/machine.h"
#include "arch/aarch64/vm.h"

/*
 * Translation regime (set up by mmu.c at boot and kept): TTBR0_EL1 only,
 * 4 KiB granule, T0SZ = 25, so a walk starts at level 1 with 512 entries of
 * 1 GiB, then level 2 (2 MiB each) and level 3 (4 KiB pages).  MAIR index 0
 * is Device-nGnRnE, index 1 Normal write-back (mmu.c).
 *
 * Kernel map (built once by arch_vm_init, global, EL1 only):
 *   [0, mem_base)                     Device-nGnRnE, RW, PXN|UXN
 *   [mem_base, __kernel_start)        Normal, RW, PXN|UXN
 *   [__kernel_start, page_up(__text_end))   text: RO, EL1-executable, UXN
 *   [.., __data_start)                rodata: RO, PXN|UXN
 *   [__data_start, __kernel_end)      data, bss, stacks: RW, PXN|UXN
 *   [__kernel_end, mem_base+mem_size) Normal, RW, PXN|UXN (frames, DTB)
 * The mapper uses the largest block that fits (1 GiB, 2 MiB) and 4 KiB
 * pages around the image, so the kernel costs a handful of table pages.
 *
 * Address spaces: a root is one level-1 page whose kernel entries
 * (indices below PX_USER_BASE's) are copies of the kernel root's, pointing
 * at the same blocks and level-2 tables; user entries (64..127 = 64..128
 * GiB) lead to private level-2 and level-3 tables.  Root entries from 128
 * up map nothing, and an invalid descriptor's other bits are ignored by
 * the hardware, so the last two hold the root's bookkeeping (ASID and
 * table-page count, shifted left one so bit 0, "valid", stays clear):
 * creating an address space costs exactly one page.
 *
 * ASIDs (8 bits; TCR_EL1.AS stays 0): each address space gets its own
 * from a bitmap (1..254) and keeps it until destroyed, so switching needs
 * no TLB flush.  Recycling is safe because destroy invalidates every TLB
 * entry of the ASID on all harts (TLBI ASIDE1IS) before it returns the
 * number.  ASID 0 is the kernel-only root (it has no non-global entries).
 * When all 254 are live, further spaces share ASID 255 and pay a local
 * TLBI ASIDE1 every time one is switched to (see arch_vm_switch).
 */

extern char __kernel_start[], __text_end[], __data_start[], __kernel_end[];

/* Descriptor fields (Arm ARM D8.3, VMSAv8-64 descriptors). */
#define PTE_VALID       (1UL << 0)
#define PTE_TABLE       (1UL << 1)   /* level 1/2: next-level table */
#define PTE_PAGE        (1UL << 1)   /* level 3: page (0b11) */
#define PTE_ATTR(i)     ((uint64_t)(i) << 2)
#define PTE_AP_EL0      (1UL << 6)   /* AP[1]: EL0 may access */
#define PTE_AP_RO       (1UL << 7)   /* AP[2]: read-only at every EL */
#define PTE_SH_INNER    (3UL << 8)
#define PTE_AF          (1UL << 10)
#define PTE_NG          (1UL << 11)  /* not global: tagged with the ASID */
#define PTE_PXN         (1UL << 53)
#define PTE_UXN         (1UL << 54)
#define PTE_SW_SHIFT    55           /* bits 55..58: ignored, for software */
#define PTE_SW_MASK     (0xfUL << PTE_SW_SHIFT)
#define PTE_PXNTABLE    (1UL << 59)  /* table: nothing below executes at EL1 */
#define PTE_ADDR_MASK   0x0000fffffffff000UL

#define ATTR_DEVICE     0            /* MAIR indices, as mmu.c programs them */
#define ATTR_NORMAL     1

#define KPTE_DEVICE     (PTE_ATTR(ATTR_DEVICE) | PTE_AF | PTE_PXN | PTE_UXN)
#define KPTE_NORMAL     (PTE_ATTR(ATTR_NORMAL) | PTE_SH_INNER | PTE_AF)
#define KPTE_RW         (KPTE_NORMAL | PTE_PXN | PTE_UXN)
#define KPTE_RO         (KPTE_NORMAL | PTE_AP_RO | PTE_PXN | PTE_UXN)
#define KPTE_TEXT       (KPTE_NORMAL | PTE_AP_RO | PTE_UXN)

#define NPTE            512
#define L1_SHIFT        30
#define USER_L1_FIRST   (PX_USER_BASE >> L1_SHIFT)   /* 64 */
#define USER_L1_END     (PX_USER_TOP >> L1_SHIFT)    /* 128 */

/* Bookkeeping slots of a root (invalid descriptors, see above). */
#define ROOT_SLOT_PAGES 510
#define ROOT_SLOT_ASID  511

#define ASID_KERNEL     0
#define ASID_SHARED     255
#define ASID_COUNT      256
#define TTBR_ASID_SHIFT 48

/* struct vm_root is opaque to neutral code; here it is the root page. */
struct vm_root {
	uint64_t pte[NPTE];
};

static struct vm_root *a64_kernel_root;
static uint64_t a64_asid_map[ASID_COUNT / 64];

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t *table_of(uint64_t pte)
{
	return (uint64_t *)(uintptr_t)(pte & PTE_ADDR_MASK);
}

static uint64_t root_get(const struct vm_root *r, unsigned slot)
{
	return r->pte[slot] >> 1;
}

static void root_set(struct vm_root *r, unsigned slot, uint64_t v)
{
	r->pte[slot] = v << 1;
}

/* ---- TLB maintenance ----------------------------------------------------- */

static inline void a64_tlbi_va_asid(uint64_t va, uint64_t asid)
{
	/* Last level only: unmap never frees tables while the space lives. */
	uint64_t arg = (asid << TTBR_ASID_SHIFT) | ((va >> 12) & 0xfffffffffffUL);
	__asm__ volatile("dsb ishst\n\ttlbi vale1is, %0\n\tdsb ish\n\tisb"
			 : : "r"(arg) : "memory");
}

static inline void a64_tlbi_asid_all_harts(uint64_t asid)
{
	__asm__ volatile("dsb ishst\n\ttlbi aside1is, %0\n\tdsb ish\n\tisb"
			 : : "r"(asid << TTBR_ASID_SHIFT) : "memory");
}

/* New table contents must reach the walker before the link to them does. */
static inline void a64_table_publish_barrier(void)
{
	__asm__ volatile("dmb ishst" : : : "memory");
}

/*
 * Make the instruction stream see what the kernel wrote to an executable
 * frame (through the identity map): clean each D-cache line to the point
 * of unification, then invalidate every I-cache in the inner shareable
 * domain (all of them, not by address: an I-cache may be indexed by the
 * user's virtual address, which is not the one written through).
 */
static void a64_sync_icache(uint64_t pa)
{
	uint64_t line = 4UL << CTR_DMINLINE(r_ctr_el0());

	for (uint64_t p = pa; p < pa + PAGE_SIZE; p += line)
		__asm__ volatile("dc cvau, %0" : : "r"(p) : "memory");
	__asm__ volatile("dsb ish\n\tic ialluis\n\tdsb ish\n\tisb" : : : "memory");
}

/* ---- ASIDs ---------------------------------------------------------------- */

static unsigned a64_asid_alloc(void)
{
	for (unsigned w = 0; w < ASID_COUNT / 64; w++) {
		uint64_t old = __atomic_load_n(&a64_asid_map[w], __ATOMIC_RELAXED);
		while (~old != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(~old);
			unsigned asid = w * 64 + bit;
			if (asid == ASID_KERNEL || asid >= ASID_SHARED)
				break; /* reserved bits are pre-set by arch_vm_init */
			if (__atomic_compare_exchange_n(&a64_asid_map[w], &old,
							old | (1UL << bit), false,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				return asid;
		}
	}
	return ASID_SHARED;
}

static void a64_asid_free(unsigned asid)
{
	if (asid == ASID_KERNEL || asid == ASID_SHARED)
		return;
	__atomic_fetch_and(&a64_asid_map[asid / 64], ~(1UL << (asid % 64)),
			   __ATOMIC_RELEASE);
}

/* ---- Kernel map ----------------------------------------------------------- */

/* Map [va, end) identically with `attrs`, blocks where they fit.  Ranges
 * passed in must not overlap.  0 or -PX_ENOMEM (boot then fails). */
static int a64_kmap(uint64_t *root, uint64_t va, uint64_t end, uint64_t attrs)
{
	while (va < end) {
		uint64_t *table = root;
		for (unsigned level = 1;; level++) {
			unsigned shift = 39 - 9 * level;
			uint64_t size = 1UL << shift;
			uint64_t *pte = &table[(va >> shift) % NPTE];

			if (level == 3 || (*pte == 0 && (va & (size - 1)) == 0 &&
					   end - va >= size)) {
				if (*pte != 0)
					return -PX_EINVAL;
				*pte = va | attrs | PTE_VALID | (level == 3 ? PTE_PAGE : 0);
				va += size;
				break;
			}
			if (*pte == 0) {
				uint64_t *next = kpage_alloc();
				if (!next)
					return -PX_ENOMEM;
				a64_table_publish_barrier();
				*pte = (uint64_t)(uintptr_t)next | PTE_TABLE | PTE_VALID;
			} else if ((*pte & (PTE_TABLE | PTE_VALID)) != (PTE_TABLE | PTE_VALID)) {
				return -PX_EINVAL; /* a block already covers it */
			}
			table = table_of(*pte);
		}
	}
	return 0;
}

int arch_vm_init(void)
{
	uint64_t ram = a64_machine.mem_base, ram_end = a64_machine.mem_base + a64_machine.mem_size;
	uint64_t kstart = (uint64_t)(uintptr_t)__kernel_start;
	uint64_t text_end = page_up((uint64_t)(uintptr_t)__text_end);
	uint64_t data = (uint64_t)(uintptr_t)__data_start;
	uint64_t kend = (uint64_t)(uintptr_t)__kernel_end;

	/* The kernel half must stay below the user range. */
	if (ram_end > PX_USER_BASE)
		ram_end = PX_USER_BASE;
	if (ram > kstart || kend > ram_end || (ram & (PAGE_SIZE - 1)))
		return -PX_EINVAL;

	uint64_t *root = kpage_alloc();
	if (!root)
		return -PX_ENOMEM;
	/* Intermediate tables of a failed boot are not worth freeing: the
	 * caller panics. */
	int err = 0;
	if (ram > 0)
		err = a64_kmap(root, 0, ram, KPTE_DEVICE);
	if (!err && kstart > ram)
		err = a64_kmap(root, ram, kstart, KPTE_RW);
	if (!err)
		err = a64_kmap(root, kstart, text_end, KPTE_TEXT);
	if (!err && data > text_end)
		err = a64_kmap(root, text_end, data, KPTE_RO);
	if (!err)
		err = a64_kmap(root, data, kend, KPTE_RW);
	if (!err && ram_end > kend)
		err = a64_kmap(root, kend, ram_end, KPTE_RW);
	if (err)
		return err;

	a64_kernel_root = (struct vm_root *)root;
	/* ASID 0 is the kernel root's; 255 is the shared overflow ASID. */
	a64_asid_map[ASID_KERNEL / 64] |= 1UL << (ASID_KERNEL % 64);
	a64_asid_map[ASID_SHARED / 64] |= 1UL << (ASID_SHARED % 64);

	a64_vm_init_hart();
	return 0;
}

/*
 * Switch the calling hart from the boot map to the kernel root.  The boot
 * map used 1 GiB blocks where this one has pages: swapping tables under a
 * live MMU could leave both sizes in the TLB for the same address (a TLB
 * conflict).  Break before make: a64_mmu_switch turns the MMU off,
 * installs the root, invalidates the TLB and turns the MMU back on
 * without touching memory in between.  Also lets EL0 read CTR_EL0 and use
 * DC ZVA (picolibc's memset/memcpy check for both).
 */
void a64_vm_init_hart(void)
{
	w_sctlr_el1(r_sctlr_el1() | SCTLR_UCT | SCTLR_DZE);
	__asm__ volatile("dsb ish" : : : "memory");
	a64_mmu_switch((uint64_t)(uintptr_t)a64_kernel_root);
}

/* ---- Address spaces ------------------------------------------------------- */

struct vm_root *arch_vm_create(void)
{
	struct vm_root *r = kpage_alloc();

	if (!r)
		return NULL;
	for (unsigned i = 0; i < USER_L1_FIRST; i++)
		r->pte[i] = a64_kernel_root->pte[i];
	root_set(r, ROOT_SLOT_PAGES, 1);
	root_set(r, ROOT_SLOT_ASID, a64_asid_alloc());
	return r;
}

void arch_vm_destroy(struct vm_root *r)
{
	if (!r)
		return;
	uint64_t asid = root_get(r, ROOT_SLOT_ASID);

	/* Drop every cached translation and walk of this ASID on all harts
	 * before its tables are reused or the ASID is handed out again. */
	a64_tlbi_asid_all_harts(asid);
	for (unsigned i = USER_L1_FIRST; i < USER_L1_END; i++) {
		if (!(r->pte[i] & PTE_VALID))
			continue;
		uint64_t *l2 = table_of(r->pte[i]);
		for (unsigned j = 0; j < NPTE; j++)
			if (l2[j] & PTE_VALID)
				kpage_free(table_of(l2[j]));
		kpage_free(l2);
	}
	a64_asid_free((unsigned)asid);
	kpage_free(r);
}

static bool user_va_ok(uint64_t va)
{
	return va >= PX_USER_BASE && va < PX_USER_TOP && (va & (PAGE_SIZE - 1)) == 0;
}

/* The level-3 entry for va, or NULL if a table on the way is missing. */
static uint64_t *a64_walk(const struct vm_root *r, uint64_t va)
{
	uint64_t l1e = r->pte[(va >> 30) % NPTE];
	if (!(l1e & PTE_VALID))
		return NULL;
	uint64_t l2e = table_of(l1e)[(va >> 21) % NPTE];
	if (!(l2e & PTE_VALID))
		return NULL;
	return &table_of(l2e)[(va >> 12) % NPTE];
}

static uint64_t user_pte_attrs(unsigned perm)
{
	uint64_t pte = PTE_ATTR(ATTR_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_NG |
		       PTE_PXN | PTE_VALID | PTE_PAGE |
		       ((uint64_t)perm << PTE_SW_SHIFT);

	if (!(perm & VM_X))
		pte |= PTE_UXN;
	if (!(perm & VM_W))
		pte |= PTE_AP_RO;
	/* Without R, EL0 gets no data access (X alone: execute-only). */
	if ((perm & VM_U) && (perm & VM_R))
		pte |= PTE_AP_EL0;
	return pte;
}

int arch_vm_map(struct vm_root *r, uint64_t va, uint64_t pa, unsigned perm)
{
	if (!r || !user_va_ok(va) || (pa & (PAGE_SIZE - 1)) || (pa & ~PTE_ADDR_MASK))
		return -PX_EINVAL;
	if ((perm & ~(VM_R | VM_W | VM_X | VM_U)) ||
	    ((perm & VM_W) && !(perm & VM_R)) || ((perm & VM_W) && (perm & VM_X)))
		return -PX_EINVAL;

	uint64_t *l1e = &r->pte[(va >> 30) % NPTE];
	uint64_t *new_l2 = NULL;
	if (!(*l1e & PTE_VALID)) {
		new_l2 = kpage_alloc();
		if (!new_l2)
			return -PX_ENOMEM;
	}
	uint64_t *l2 = new_l2 ? new_l2 : table_of(*l1e);
	uint64_t *l2e = &l2[(va >> 21) % NPTE];
	uint64_t *new_l3 = NULL;
	if (!(*l2e & PTE_VALID)) {
		new_l3 = kpage_alloc();
		if (!new_l3) {
			/* Nothing was linked yet: the space is as it was. */
			if (new_l2)
				kpage_free(new_l2);
			return -PX_ENOMEM;
		}
	}
	uint64_t *l3 = new_l3 ? new_l3 : table_of(*l2e);
	uint64_t *pte = &l3[(va >> 12) % NPTE];
	if (*pte & PTE_VALID)
		return -PX_EINVAL; /* only possible when no table was new */

	if (perm & VM_X)
		a64_sync_icache(pa);
	*pte = pa | user_pte_attrs(perm);
	if (new_l3 || new_l2)
		a64_table_publish_barrier();
	if (new_l3)
		*l2e = (uint64_t)(uintptr_t)new_l3 | PTE_TABLE | PTE_VALID;
	if (new_l2)
		*l1e = (uint64_t)(uintptr_t)new_l2 | PTE_PXNTABLE | PTE_TABLE | PTE_VALID;
	root_set(r, ROOT_SLOT_PAGES, root_get(r, ROOT_SLOT_PAGES) +
		 (new_l2 != NULL) + (new_l3 != NULL));
	/* An invalid entry is never cached in a TLB, so no TLBI: the walker
	 * only has to see the store before the next eret. */
	__asm__ volatile("dsb ishst" : : : "memory");
	return 0;
}

uint64_t arch_vm_unmap(struct vm_root *r, uint64_t va)
{
	if (!r || !user_va_ok(va))
		return 0;
	uint64_t *pte = a64_walk(r, va);
	if (!pte || !(*pte & PTE_VALID))
		return 0;
	uint64_t pa = *pte & PTE_ADDR_MASK;
	*pte = 0;
	a64_tlbi_va_asid(va, root_get(r, ROOT_SLOT_ASID));
	return pa;
}

bool arch_vm_lookup(const struct vm_root *r, uint64_t va, uint64_t *pa, unsigned *perm)
{
	if (!r || va < PX_USER_BASE || va >= PX_USER_TOP)
		return false;
	const uint64_t *pte = a64_walk(r, va);
	if (!pte)
		return false;
	/* One read: another hart's unmap may clear the entry meanwhile
	 * (uaccess.c), and pa and perm must come from the same value. */
	uint64_t v = __atomic_load_n(pte, __ATOMIC_RELAXED);
	if (!(v & PTE_VALID))
		return false;
	if (pa)
		*pa = (v & PTE_ADDR_MASK) | (va & (PAGE_SIZE - 1));
	if (perm)
		*perm = (unsigned)((v & PTE_SW_MASK) >> PTE_SW_SHIFT);
	return true;
}

void arch_vm_switch(struct vm_root *r)
{
	if (!r)
		r = a64_kernel_root;
	uint64_t asid = root_get(r, ROOT_SLOT_ASID);

	w_ttbr0_el1((uint64_t)(uintptr_t)r | (asid << TTBR_ASID_SHIFT));
	a64_isb();
	/* A shared ASID may still tag another space's entries on this hart. */
	if (asid == ASID_SHARED)
		__asm__ volatile("tlbi aside1, %0\n\tdsb nsh\n\tisb"
				 : : "r"(asid << TTBR_ASID_SHIFT) : "memory");
}

size_t arch_vm_table_pages(const struct vm_root *r)
{
	return r ? (size_t)root_get(r, ROOT_SLOT_PAGES) : 0;
}
