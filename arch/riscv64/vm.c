/* riscv64 Sv39 page tables: the kernel's identity map, user address spaces and ASIDs. */
#include <stdio.h>

#include "arch/arch.h"
#include "arch/riscv64/csr.h"
#include "arch/riscv64/machine.h"
#include "arch/riscv64/sbi.h"
#include "arch/riscv64/trap.h"

/*
 * Sv39 (privileged spec, "Sv39: Page-Based 39-bit Virtual-Memory System"):
 * three levels of 512 eight-byte entries; a VA splits into VPN[2] (bits
 * 38:30), VPN[1] (29:21), VPN[0] (20:12) and the page offset.  A PTE is
 *
 *   63..54 reserved | 53..10 PPN | 9..8 RSW | D A G U X W R V
 *
 * and is a leaf when any of R, W, X is set (level 2 leaf: 1 GiB
 * gigapage, level 1: 2 MiB megapage, level 0: 4 KiB page).  A non-leaf
 * entry has R = W = X = 0 and points at the next table.
 *
 * Layout of every address space (root entries = 1 GiB each):
 *
 *   root[0 .. 63]     kernel: identity map of MMIO [0, mem_base) and RAM,
 *                     G = 1, U = 0.  These entries are copied into every
 *                     root and point at the same lower tables, so all
 *                     address spaces share one kernel map.  Consequence:
 *                     the kernel may add mappings inside its existing
 *                     subtrees later, but never a new root entry.
 *   root[64 .. 127]   user: [PX_USER_BASE, PX_USER_TOP), 4 KiB pages in
 *                     tables private to the address space.
 *   root[256 .. 511]  the upper half of Sv39 (VAs 0xffffffc0_00000000
 *                     and up), unused, so its entries are invalid (V = 0)
 *                     and the hardware ignores their other bits: each
 *                     root keeps its bookkeeping there (ASIDs per hart,
 *                     table-page count), so an address space costs
 *                     exactly its table pages and nothing from the heap.
 *                     Every value stored there has bit 0 (V) clear.
 *
 * We set A and D in every leaf we create.  QEMU 7.2 would update them in
 * hardware, but the spec also allows an implementation to fault instead
 * (Svade), and later QEMUs only update when Svadu is enabled; with both
 * bits preset no access ever needs an update.
 */
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE_RWX (PTE_R | PTE_W | PTE_X)
#define PTE_PPN_SHIFT 10

#define LEVELS 3
#define ENTRIES 512
#define LEVEL_SHIFT(l) (12 + 9 * (l))
#define LEVEL_SIZE(l) (1UL << LEVEL_SHIFT(l))
#define VPN(va, l) (((va) >> LEVEL_SHIFT(l)) & (ENTRIES - 1))

#define USER_SLOT_FIRST VPN(PX_USER_BASE, 2)
#define USER_SLOT_END (USER_SLOT_FIRST + (PX_USER_TOP - PX_USER_BASE) / LEVEL_SIZE(2))
#define KERNEL_SLOT_END USER_SLOT_FIRST

/* Bookkeeping slots in the root's unused upper half (see above). */
#define META_ASID(hart) (256 + (hart)) /* gen << 17 | asid << 1 */
#define META_TABLES 511                  /* table pages << 1 */
#define ASID_GEN_SHIFT 17

_Static_assert(SMP_MAX <= 255, "per-hart ASID slots must fit below META_TABLES");
_Static_assert(PX_USER_TOP <= (1UL << 38), "user range must sit in the lower half");
_Static_assert((PX_USER_BASE & (LEVEL_SIZE(2) - 1)) == 0, "user range gigapage aligned");

typedef uint64_t pte_t;

struct vm_root {
	pte_t pte[ENTRIES];
};
_Static_assert(sizeof(struct vm_root) == PAGE_SIZE, "a root is one page");

extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];

/* The kernel-only address space: used at boot, by arch_vm_switch(NULL),
 * and as the template every new root copies. */
static struct vm_root rv_kroot __attribute__((aligned(PAGE_SIZE)));

/*
 * ASIDs.  satp's ASID field is probed at boot (write all ones, read
 * back); QEMU 7.2 keeps all 16 bits.  With ASIDs, switching address
 * spaces needs no TLB flush.  Allocation is per hart, so it needs no
 * lock and no IPI: each hart hands out ASIDs 1..max by bumping a
 * counter and tags them with its generation number.  A root remembers
 * (generation, ASID) per hart in its META_ASID(hart) slot; it is valid on
 * that hart only while the generations match.  When the counter runs
 * out, the hart starts a new generation and flushes its whole TLB, so
 * every old ASID (and every stale entry tagged with one, including those
 * of destroyed roots, whose ASIDs are never reused within a generation)
 * is gone before any ASID is handed out again.  ASID 0 is the kernel-only
 * table's; kernel mappings are global, so they hit under every ASID.
 * Without ASID bits every switch flushes the TLB instead.
 */
struct rv_vm_hart {
	struct vm_root *cur;  /* active root; NULL = rv_kroot */
	uint64_t gen;         /* current ASID generation, from 1 */
	uint64_t next_asid;   /* next ASID to hand out */
};
static struct rv_vm_hart rv_vm_harts[SMP_MAX];
static uint64_t rv_asid_max; /* largest ASID; 0 = no ASIDs */

static uint64_t pa_to_pte(uint64_t pa)
{
	return (pa >> 12) << PTE_PPN_SHIFT;
}

static pte_t *pte_table(pte_t e)
{
	return (pte_t *)(uintptr_t)((e >> PTE_PPN_SHIFT) << 12);
}

static uint64_t pte_pa(pte_t e)
{
	return (e >> PTE_PPN_SHIFT) << 12;
}

static uint64_t satp_of(const struct vm_root *r, uint64_t asid)
{
	return SATP_MODE_SV39 | asid << SATP_ASID_SHIFT | (((uintptr_t)r >> 12) & SATP_PPN_MASK);
}

/* ---- Kernel map ------------------------------------------------------------*/

/* Map [va, va + size) -> [pa, ...) in the kernel root with leaf flags
 * `flags`, using pages no larger than level `max_level` and the largest
 * that alignment and size allow.  Tables come from kpage_alloc and are
 * never freed (the kernel map lives forever). */
static int rv_kmap(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags, int max_level)
{
	while (size) {
		int lvl = max_level;
		while (lvl > 0 && (((va | pa) & (LEVEL_SIZE(lvl) - 1)) || size < LEVEL_SIZE(lvl)))
			lvl--;
		pte_t *t = rv_kroot.pte;
		for (int l = LEVELS - 1; l > lvl; l--) {
			pte_t *e = &t[VPN(va, l)];
			if (!(*e & PTE_V)) {
				void *page = kpage_alloc();
				if (!page)
					return -PX_ENOMEM;
				*e = pa_to_pte((uintptr_t)page) | PTE_V;
			} else if (*e & PTE_RWX) {
				return -PX_EINVAL; /* overlaps a larger leaf */
			}
			t = pte_table(*e);
		}
		pte_t *e = &t[VPN(va, lvl)];
		if (*e & PTE_V)
			return -PX_EINVAL;
		*e = pa_to_pte(pa) | flags | PTE_V | PTE_G | PTE_A | PTE_D;
		va += LEVEL_SIZE(lvl);
		pa += LEVEL_SIZE(lvl);
		size -= LEVEL_SIZE(lvl);
	}
	return 0;
}

static int rv_kmap_identity(uint64_t lo, uint64_t hi, uint64_t flags, int max_level)
{
	return lo < hi ? rv_kmap(lo, lo, hi - lo, flags, max_level) : 0;
}

/*
 * The W^X self check: walk every leaf of the kernel map and check that
 * no page is writable and executable, only the kernel text is
 * executable, nothing of text or rodata is writable, nothing is user
 * accessible or non-global, and A/D are preset.  Returns the number of
 * violations (each printed).
 */
static unsigned rv_check_leaf(uint64_t va, uint64_t size, pte_t e)
{
	uint64_t ks = (uintptr_t)__kernel_start, te = (uintptr_t)__text_end;
	uint64_t re = (uintptr_t)__rodata_end;
	unsigned bad = 0;
	const char *why = NULL;

	if ((e & PTE_W) && (e & PTE_X))
		why = "writable and executable";
	else if ((e & PTE_X) && (va < ks || va + size > te))
		why = "executable outside kernel text";
	else if ((e & PTE_W) && va < re && va + size > ks)
		why = "writable kernel text or rodata";
	else if ((e & PTE_W) && !(e & PTE_R))
		why = "write without read";
	else if (e & PTE_U)
		why = "user-accessible kernel page";
	else if ((e & (PTE_G | PTE_A | PTE_D)) != (PTE_G | PTE_A | PTE_D))
		why = "G, A or D missing";
	if (why) {
		printf("vm: kernel map at %#llx: %s (pte %#llx)\n", (unsigned long long)va, why,
		       (unsigned long long)e);
		bad++;
	}
	return bad;
}

static unsigned rv_check_table(const pte_t *t, int lvl, uint64_t base)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < (lvl == LEVELS - 1 ? KERNEL_SLOT_END : ENTRIES); i++) {
		pte_t e = t[i];
		uint64_t va = base + ((uint64_t)i << LEVEL_SHIFT(lvl));
		if (!(e & PTE_V))
			continue;
		if (e & PTE_RWX)
			bad += rv_check_leaf(va, LEVEL_SIZE(lvl), e);
		else if (lvl > 0)
			bad += rv_check_table(pte_table(e), lvl - 1, va);
		else
			bad += rv_check_leaf(va, PAGE_SIZE, 0); /* a table at level 0 */
	}
	return bad;
}

/* Software walk of root r for va: the leaf entry, or NULL.  *lvl_out
 * gets the leaf's level. */
static const pte_t *rv_walk(const struct vm_root *r, uint64_t va, int *lvl_out)
{
	const pte_t *t = r->pte;
	for (int l = LEVELS - 1; l >= 0; l--) {
		const pte_t *e = &t[VPN(va, l)];
		if (!(*e & PTE_V))
			return NULL;
		if (*e & PTE_RWX) {
			*lvl_out = l;
			return e;
		}
		if (l == 0)
			return NULL;
		t = pte_table(*e);
	}
	return NULL;
}

/* Spot checks by address on top of the full walk: one symbol in each
 * region must translate with exactly the intended permissions. */
static unsigned rv_check_symbol(const char *name, const void *p, pte_t want)
{
	int lvl;
	const pte_t *e = rv_walk(&rv_kroot, (uintptr_t)p, &lvl);
	if (e && (*e & PTE_RWX) == want && lvl == 0)
		return 0;
	printf("vm: %s at %p: pte %#llx, want %s%s%s 4 KiB page\n", name, p,
	       e ? (unsigned long long)*e : 0ULL, want & PTE_R ? "R" : "-",
	       want & PTE_W ? "W" : "-", want & PTE_X ? "X" : "-");
	return 1;
}

static const char rv_rodata_probe[] = "rodata";
static int rv_data_probe = 1;

/* Probe satp's ASID width with the kernel root: write all ones, read back. */
static void rv_asid_probe(void)
{
	w_satp(satp_of(&rv_kroot, SATP_ASID_MASK));
	rv_asid_max = (r_satp() >> SATP_ASID_SHIFT) & SATP_ASID_MASK;
	w_satp(satp_of(&rv_kroot, 0));
	rv_sfence_all();
}

int arch_vm_init(void)
{
	uint64_t mem_lo = rv_machine.mem_base, mem_hi = rv_machine.mem_base + rv_machine.mem_size;
	uint64_t ks = (uintptr_t)__kernel_start, te = (uintptr_t)__text_end;
	uint64_t re = (uintptr_t)__rodata_end, ke = (uintptr_t)__kernel_end;
	const uint64_t rw = PTE_R | PTE_W;
	int err = 0;

	/* The kernel map must fit below the user range, and the image in RAM. */
	if (mem_hi > PX_USER_BASE || ks < mem_lo || ke > mem_hi ||
	    (mem_lo & (PAGE_SIZE - 1)) || (mem_hi & (PAGE_SIZE - 1))) {
		printf("vm: RAM [%#llx, %#llx) does not fit the Sv39 layout\n",
		       (unsigned long long)mem_lo, (unsigned long long)mem_hi);
		return -PX_EINVAL;
	}

	/* MMIO below RAM; then RAM around the image, which gets 4 KiB
	 * pages with W^X per section.  OpenSBI's [0x80000000, 0x80200000)
	 * is mapped RW like the rest of RAM (kalloc never hands it out). */
	err = err ? err : rv_kmap_identity(0, mem_lo, rw, 2);
	err = err ? err : rv_kmap_identity(mem_lo, ks, rw, 2);
	err = err ? err : rv_kmap_identity(ks, te, PTE_R | PTE_X, 0);
	err = err ? err : rv_kmap_identity(te, re, PTE_R, 0);
	err = err ? err : rv_kmap_identity(re, ke, rw, 0);
	err = err ? err : rv_kmap_identity(ke, mem_hi, rw, 2);
	if (err) {
		printf("vm: cannot build the kernel map (%d)\n", err);
		return err;
	}

	unsigned bad = rv_check_table(rv_kroot.pte, LEVELS - 1, 0);
	bad += rv_check_symbol("text", (const void *)arch_vm_init, PTE_R | PTE_X);
	bad += rv_check_symbol("rodata", rv_rodata_probe, PTE_R);
	bad += rv_check_symbol("data", &rv_data_probe, rw);
	if (bad) {
		printf("vm: kernel map violates W^X in %u places\n", bad);
		return -PX_EINVAL;
	}

	/* Make the table stores visible to the walker, then turn it on. */
	rv_sfence_all();
	rv_asid_probe();
	if ((r_satp() & SATP_MODE_MASK) != SATP_MODE_SV39) {
		printf("vm: this hart does not support Sv39\n");
		return -PX_EINVAL;
	}
	for (unsigned h = 0; h < SMP_MAX; h++)
		rv_vm_harts[h] = (struct rv_vm_hart){ NULL, 1, 1 };
	return 0;
}

/* ---- User address spaces -----------------------------------------------------*/

static bool rv_user_va(uint64_t va)
{
	return va >= PX_USER_BASE && va < PX_USER_TOP && !(va & (PAGE_SIZE - 1));
}

/* This hart's ASID for r if it has a current one, else -1 (then no TLB
 * entry of r can be cached on this hart: see the ASID comment above). */
static int64_t rv_asid_current(const struct vm_root *r, unsigned hart)
{
	uint64_t m = r->pte[META_ASID(hart)];
	if (!rv_asid_max)
		return rv_vm_harts[hart].cur == r ? 0 : -1;
	if ((m >> ASID_GEN_SHIFT) != rv_vm_harts[hart].gen)
		return -1;
	return (int64_t)((m >> 1) & SATP_ASID_MASK);
}

/*
 * After changing r's leaf for va: drop what any hart's TLB may hold.
 *
 * This hart: sfence.vma for va under r's ASID here.  Other harts (SMP):
 * processes migrate, so a hart that ran r earlier may still cache r's
 * translations under the ASID it gave r, even though it has switched
 * away (with ASIDs a switch flushes nothing).  The contract says r is
 * active on no other hart (the kernel switches to the kernel table when
 * a process task stops running), so instead of an IPI we make those
 * entries unreachable: clear r's ASID slot for every such hart.  When r
 * next runs there, rv_asid_get hands out a fresh ASID of the current
 * generation, which tags nothing yet.  Cost: no IPI, one ASID per hart
 * per unmap of a migrated space; the generation rollover reclaims them.
 * Defensive fallback, should a hart still have r active: a synchronous
 * SBI remote sfence.vma of the page on those harts.  Without ASIDs every
 * switch flushes, so only harts with r active matter.
 */
static void rv_flush_va(struct vm_root *r, uint64_t va)
{
	unsigned long f = arch_irq_save();
	unsigned self = arch_hart_id();
	int64_t asid = rv_asid_current(r, self);
	if (asid >= 0)
		rv_sfence_va_asid(va, (uint64_t)asid);
	uint64_t active = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the PTE store before the reads */
	for (unsigned h = 0; h < rv_machine.nharts && h < SMP_MAX; h++) {
		if (h == self)
			continue;
		if (__atomic_load_n(&rv_vm_harts[h].cur, __ATOMIC_RELAXED) == r)
			active |= 1UL << rv_machine.hart_hwid[h];
		else if (rv_asid_max && rv_asid_current(r, h) >= 0)
			__atomic_store_n(&r->pte[META_ASID(h)], 0, __ATOMIC_RELAXED);
	}
	if (active)
		sbi_remote_sfence_vma(active, 0, va, PAGE_SIZE);
	arch_irq_restore(f);
}

/*
 * Instruction-cache coherence across harts: a page mapped executable was
 * filled with data stores on this hart, and fence.i makes only this
 * hart's instruction fetches see them.  Rather than a remote fence.i on
 * every hart per mapped page, a global generation counts executable
 * mappings; a hart about to switch to a user address space executes
 * fence.i first if the generation moved since it last did.  A process
 * runs only after such a switch on the hart that runs it (it is never
 * left active across a task switch), so it never fetches stale code.
 */
static uint64_t rv_icache_gen;
static _Thread_local uint64_t rv_icache_seen;

/* Secondary hart, MMU off: the kernel root with ASID 0, as the boot hart
 * runs it after arch_vm_init. */
void rv_vm_init_hart(void)
{
	w_satp(satp_of(&rv_kroot, 0));
	rv_sfence_all();
	rv_fence_i();
}

struct vm_root *arch_vm_create(void)
{
	struct vm_root *r = kpage_alloc();
	if (!r)
		return NULL;
	for (unsigned i = 0; i < KERNEL_SLOT_END; i++)
		r->pte[i] = rv_kroot.pte[i];
	r->pte[META_TABLES] = 1 << 1; /* the root itself; ASID slots are 0: none */
	return r;
}

void arch_vm_destroy(struct vm_root *r)
{
	if (!r)
		return;
	/* Defensive: never leave this hart on a freed table. */
	if (rv_vm_harts[arch_hart_id()].cur == r)
		arch_vm_switch(NULL);
	for (unsigned i = USER_SLOT_FIRST; i < USER_SLOT_END; i++) {
		pte_t e = r->pte[i];
		if (!(e & PTE_V))
			continue;
		pte_t *l1 = pte_table(e);
		for (unsigned j = 0; j < ENTRIES; j++)
			if (l1[j] & PTE_V)
				kpage_free(pte_table(l1[j]));
		kpage_free(l1);
	}
	kpage_free(r);
}

/* VM_* to PTE permission bits; 0 if the combination is refused. */
static uint64_t rv_perm_bits(unsigned perm)
{
	if (perm & ~(VM_R | VM_W | VM_X | VM_U))
		return 0;
	if ((perm & VM_W) && ((perm & VM_X) || !(perm & VM_R)))
		return 0; /* W^X, and W without R is reserved in Sv39 */
	if (!(perm & (VM_R | VM_X)))
		return 0; /* nothing to grant: not a leaf */
	return (perm & VM_R ? PTE_R : 0) | (perm & VM_W ? PTE_W : 0) |
	       (perm & VM_X ? PTE_X : 0) | (perm & VM_U ? PTE_U : 0);
}

int arch_vm_map(struct vm_root *r, uint64_t va, uint64_t pa, unsigned perm)
{
	uint64_t bits = rv_perm_bits(perm);
	if (!bits || !rv_user_va(va) || (pa & (PAGE_SIZE - 1)) || (pa >> 56))
		return -PX_EINVAL;

	/* Find what exists, and refuse an existing mapping before allocating. */
	pte_t *e2 = &r->pte[VPN(va, 2)], *e1 = NULL, *e0 = NULL;
	if (*e2 & PTE_V) {
		e1 = &pte_table(*e2)[VPN(va, 1)];
		if (*e1 & PTE_V) {
			e0 = &pte_table(*e1)[VPN(va, 0)];
			if (*e0 & PTE_V)
				return -PX_EINVAL;
		}
	}

	/* Allocate the missing tables first, so failure changes nothing. */
	pte_t *new1 = NULL, *new0 = NULL;
	if (!e1 && !(new1 = kpage_alloc()))
		return -PX_ENOMEM;
	if (!e0 && !(new0 = kpage_alloc())) {
		kpage_free(new1);
		return -PX_ENOMEM;
	}

	/* Fill bottom-up, link top-down last: a walker never sees a table
	 * before its contents. */
	pte_t leaf = pa_to_pte(pa) | bits | PTE_V | PTE_A | (bits & PTE_W ? PTE_D : 0);
	if (new0) {
		new0[VPN(va, 0)] = leaf;
		if (new1)
			e1 = &new1[VPN(va, 1)];
		*e1 = pa_to_pte((uintptr_t)new0) | PTE_V;
	} else {
		*e0 = leaf;
	}
	if (new1)
		*e2 = pa_to_pte((uintptr_t)new1) | PTE_V;
	r->pte[META_TABLES] += (uint64_t)((new1 != NULL) + (new0 != NULL)) << 1;

	/* Sv39 allows caching invalid entries, so even a new mapping is
	 * fenced (QEMU does not cache them; real harts without Svvptc may). */
	rv_flush_va(r, va);
	/* The caller filled an executable page with data stores: this hart
	 * now, the others before they next enter a user space. */
	if (bits & PTE_X) {
		rv_fence_i();
		__atomic_fetch_add(&rv_icache_gen, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

static pte_t *rv_user_leaf(const struct vm_root *r, uint64_t va)
{
	int lvl;
	if (!rv_user_va(va & ~(uint64_t)(PAGE_SIZE - 1)))
		return NULL;
	const pte_t *e = rv_walk(r, va, &lvl);
	return e && lvl == 0 ? (pte_t *)(uintptr_t)e : NULL;
}

uint64_t arch_vm_unmap(struct vm_root *r, uint64_t va)
{
	if (va & (PAGE_SIZE - 1))
		return 0;
	pte_t *e = rv_user_leaf(r, va);
	if (!e)
		return 0;
	uint64_t pa = pte_pa(*e);
	*e = 0;
	/* Empty tables stay until arch_vm_destroy (counted in table_pages). */
	rv_flush_va(r, va);
	return pa;
}

/*
 * The walk of every copy to or from user memory, unrolled: a user space
 * maps 4 KiB pages only (arch_vm_map), so the two upper levels must hold
 * table pointers (valid, no R/W/X) and the last a leaf.  The upper
 * entries are never cleared while the space lives (arch_vm_unmap clears
 * leaves only), so only the leaf needs the single atomic read below.
 */
bool arch_vm_lookup(const struct vm_root *r, uint64_t va, uint64_t *pa, unsigned *perm)
{
	if (va < PX_USER_BASE || va >= PX_USER_TOP)
		return false;
	pte_t t = r->pte[VPN(va, 2)];
	if ((t & (PTE_V | PTE_RWX)) != PTE_V)
		return false;
	t = pte_table(t)[VPN(va, 1)];
	if ((t & (PTE_V | PTE_RWX)) != PTE_V)
		return false;
	/* One read: another hart's unmap may clear the entry meanwhile
	 * (uaccess.c), and pa and perm must come from the same value. */
	pte_t v = __atomic_load_n(&pte_table(t)[VPN(va, 0)], __ATOMIC_RELAXED);
	if (!(v & PTE_V) || !(v & PTE_RWX))
		return false;
	if (pa)
		*pa = pte_pa(v) | (va & (PAGE_SIZE - 1));
	if (perm)
		*perm = (v & PTE_R ? VM_R : 0) | (v & PTE_W ? VM_W : 0) |
			(v & PTE_X ? VM_X : 0) | (v & PTE_U ? VM_U : 0);
	return true;
}

size_t arch_vm_table_pages(const struct vm_root *r)
{
	return (size_t)(r->pte[META_TABLES] >> 1);
}

/* This hart's ASID for r, assigning a fresh one (and starting a new
 * generation when they run out) if r has none in this generation.
 * Interrupts masked. */
static uint64_t rv_asid_get(struct vm_root *r, unsigned hart)
{
	struct rv_vm_hart *h = &rv_vm_harts[hart];
	uint64_t m = r->pte[META_ASID(hart)];
	if ((m >> ASID_GEN_SHIFT) == h->gen)
		return (m >> 1) & SATP_ASID_MASK;
	if (h->next_asid > rv_asid_max) {
		/* Rollover: forget every ASID of the old generation. */
		h->gen++;
		h->next_asid = 1;
		rv_sfence_all();
	}
	uint64_t asid = h->next_asid++;
	r->pte[META_ASID(hart)] = h->gen << ASID_GEN_SHIFT | asid << 1;
	return asid;
}

void arch_vm_switch(struct vm_root *r)
{
	unsigned long f = arch_irq_save();
	unsigned hart = arch_hart_id();
	struct rv_vm_hart *h = &rv_vm_harts[hart];

	if (h->cur != r) {
		h->cur = r;
		if (!rv_asid_max) {
			w_satp(satp_of(r ? r : &rv_kroot, 0));
			rv_sfence_all();
		} else if (!r) {
			w_satp(satp_of(&rv_kroot, 0));
		} else {
			w_satp(satp_of(r, rv_asid_get(r, hart)));
		}
	}
	if (r) {
		uint64_t g = __atomic_load_n(&rv_icache_gen, __ATOMIC_ACQUIRE);
		if (g != rv_icache_seen) {
			rv_icache_seen = g;
			rv_fence_i();
		}
	}
	arch_irq_restore(f);
}
