/* In-kernel tests of page tables and user mode, through arch.h only (both arches). */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/kalloc.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktest/vm.h"
#include "kernel/ktimer.h"
#include "lib/uapi/pollux.h"

static size_t pages_free(void)
{
	struct kalloc_stats s;
	kalloc_stats(&s);
	return s.pages_free;
}

static uint64_t pa_of(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* frames are identity mapped */
}

/* ---- vm_map_lookup: the page-table contract -------------------------------*/

bool ktest_vm_map_lookup(void)
{
	const uint64_t va = PX_USER_BASE + 0x5000;
	const uint64_t va_far = PX_USER_TOP - PAGE_SIZE; /* other 1 GiB region */
	uint64_t pa;
	unsigned perm;

	void *f1 = kpage_alloc(), *f2 = kpage_alloc();
	EXPECT(f1 && f2);
	size_t free0 = pages_free();

	struct vm_root *r = arch_vm_create();
	EXPECT(r);
	size_t t0 = arch_vm_table_pages(r);
	EXPECT(t0 >= 1);
	EXPECT(free0 - pages_free() == t0); /* the count is what was taken */
	EXPECT(!arch_vm_lookup(r, va, &pa, &perm));

	/* Round trip. */
	EXPECT(arch_vm_map(r, va, pa_of(f1), VM_R | VM_W | VM_U) == 0);
	EXPECT(arch_vm_lookup(r, va, &pa, &perm));
	EXPECT(pa == pa_of(f1));
	EXPECT(perm == (VM_R | VM_W | VM_U));
	EXPECT(arch_vm_lookup(r, va + 0x123, &pa, &perm));
	EXPECT((pa & ~(uint64_t)(PAGE_SIZE - 1)) == pa_of(f1));
	EXPECT(!arch_vm_lookup(r, va + PAGE_SIZE, &pa, &perm));
	EXPECT(!arch_vm_lookup(r, va - PAGE_SIZE, &pa, &perm));
	size_t t1 = arch_vm_table_pages(r);
	EXPECT(t1 > t0);
	EXPECT(free0 - pages_free() == t1);

	/* Refused arguments, each with its error and without side effects. */
	EXPECT(arch_vm_map(r, va, pa_of(f2), VM_R | VM_U) == -PX_EINVAL);   /* mapped */
	EXPECT(arch_vm_map(r, va + PAGE_SIZE, pa_of(f2), VM_R | VM_W | VM_X) == -PX_EINVAL);
	EXPECT(arch_vm_map(r, va + PAGE_SIZE, pa_of(f2), VM_W | VM_U) == -PX_EINVAL);
	EXPECT(arch_vm_map(r, va + 8, pa_of(f2), VM_R) == -PX_EINVAL);      /* unaligned va */
	EXPECT(arch_vm_map(r, va + PAGE_SIZE, pa_of(f2) + 8, VM_R) == -PX_EINVAL);
	EXPECT(arch_vm_map(r, PX_USER_BASE - PAGE_SIZE, pa_of(f2), VM_R) == -PX_EINVAL);
	EXPECT(arch_vm_map(r, PX_USER_TOP, pa_of(f2), VM_R) == -PX_EINVAL);
	EXPECT(arch_vm_map(r, (uint64_t)(uintptr_t)f2, pa_of(f2), VM_R) == -PX_EINVAL);
	EXPECT(arch_vm_map(r, 0, pa_of(f2), VM_R) == -PX_EINVAL);
	EXPECT(arch_vm_lookup(r, va, &pa, &perm) && pa == pa_of(f1));
	EXPECT(!arch_vm_lookup(r, va + PAGE_SIZE, &pa, &perm));
	EXPECT(arch_vm_table_pages(r) == t1);

	/* Read-only and executable pages; a second region grows the tables. */
	EXPECT(arch_vm_map(r, va + PAGE_SIZE, pa_of(f2), VM_R | VM_X | VM_U) == 0);
	EXPECT(arch_vm_lookup(r, va + PAGE_SIZE, &pa, &perm));
	EXPECT(pa == pa_of(f2) && perm == (VM_R | VM_X | VM_U));
	EXPECT(arch_vm_table_pages(r) == t1);
	EXPECT(arch_vm_map(r, va_far, pa_of(f2), VM_R) == 0);
	EXPECT(arch_vm_lookup(r, va_far, &pa, &perm) && pa == pa_of(f2) && perm == VM_R);
	size_t t2 = arch_vm_table_pages(r);
	EXPECT(t2 > t1);
	EXPECT(free0 - pages_free() == t2);

	/* Unmap returns the frame once, and the mapping is gone. */
	EXPECT(arch_vm_unmap(r, va) == pa_of(f1));
	EXPECT(!arch_vm_lookup(r, va, &pa, &perm));
	EXPECT(arch_vm_unmap(r, va) == 0);
	EXPECT(arch_vm_unmap(r, va + 0x40000) == 0);
	EXPECT(arch_vm_map(r, va, pa_of(f1), VM_R | VM_U) == 0); /* remap after unmap */
	EXPECT(arch_vm_unmap(r, va) == pa_of(f1));
	EXPECT(arch_vm_unmap(r, va + PAGE_SIZE) == pa_of(f2));
	EXPECT(arch_vm_unmap(r, va_far) == pa_of(f2));

	/* Destroy frees every table page, the root included. */
	printf("    table pages: %zu empty, %zu after one page, %zu with two regions\n",
	       t0, t1, t2);
	arch_vm_destroy(r);
	EXPECT(pages_free() == free0);
	kpage_free(f1);
	kpage_free(f2);
	return true;
}

/* ---- vm_oom: allocation failures change nothing and leak nothing ----------*/

bool ktest_vm_oom(void)
{
	const uint64_t va = PX_USER_BASE + 0x200000 * 3;
	void *f = kpage_alloc();
	EXPECT(f);
	size_t free0 = pages_free();

	kalloc_fail_next(1);
	EXPECT(arch_vm_create() == NULL);
	kalloc_fail_next(0);
	EXPECT(pages_free() == free0);

	for (unsigned n = 1; n <= 4; n++) {
		struct vm_root *r = arch_vm_create();
		EXPECT(r);
		size_t free1 = pages_free(), tables = arch_vm_table_pages(r);

		/* A fresh region needs every level below the root. */
		kalloc_fail_next(n);
		EXPECT(arch_vm_map(r, va, pa_of(f), VM_R | VM_U) == -PX_ENOMEM);
		kalloc_fail_next(0);
		EXPECT(pages_free() == free1);
		EXPECT(arch_vm_table_pages(r) == tables);
		EXPECT(!arch_vm_lookup(r, va, NULL, NULL));

		/* Now it works; then a neighbour 2 MiB away needs only the
		 * lowest level, and fails alone. */
		EXPECT(arch_vm_map(r, va, pa_of(f), VM_R | VM_U) == 0);
		size_t free2 = pages_free();
		tables = arch_vm_table_pages(r);
		kalloc_fail_next(n);
		EXPECT(arch_vm_map(r, va + 0x200000, pa_of(f), VM_R | VM_U) == -PX_ENOMEM);
		kalloc_fail_next(0);
		EXPECT(pages_free() == free2);
		EXPECT(arch_vm_table_pages(r) == tables);
		EXPECT(!arch_vm_lookup(r, va + 0x200000, NULL, NULL));
		EXPECT(arch_vm_lookup(r, va, NULL, NULL));

		EXPECT(arch_vm_unmap(r, va) == pa_of(f));
		arch_vm_destroy(r);
		EXPECT(pages_free() == free0);
	}
	kpage_free(f);
	return true;
}

/* ---- user mode: the self-test program ----------------------------------------*/

#define CODE_VA PX_USER_BASE
#define STACK_VA (PX_USER_BASE + 0x10000)
#define RO_VA (PX_USER_BASE + 0x20000)

struct uenv {
	struct vm_root *r;
	void *code, *stack, *ro;
	struct arch_selftest_prog prog;
	size_t free0;
};

static bool uenv_setup(struct uenv *e)
{
	memset(e, 0, sizeof(*e));
	e->free0 = pages_free();
	arch_selftest_user_prog(&e->prog);
	EXPECT(e->prog.len > 0 && e->prog.len <= PAGE_SIZE);
	e->r = arch_vm_create();
	e->code = kpage_alloc();
	e->stack = kpage_alloc();
	e->ro = kpage_alloc();
	EXPECT(e->r && e->code && e->stack && e->ro);
	memcpy(e->code, e->prog.code, e->prog.len);
	EXPECT(arch_vm_map(e->r, CODE_VA, pa_of(e->code), VM_R | VM_X | VM_U) == 0);
	EXPECT(arch_vm_map(e->r, STACK_VA, pa_of(e->stack), VM_R | VM_W | VM_U) == 0);
	EXPECT(arch_vm_map(e->r, RO_VA, pa_of(e->ro), VM_R | VM_U) == 0);
	arch_vm_switch(e->r);
	return true;
}

static bool uenv_teardown(struct uenv *e)
{
	arch_vm_switch(NULL);
	EXPECT(arch_vm_unmap(e->r, CODE_VA) == pa_of(e->code));
	EXPECT(arch_vm_unmap(e->r, STACK_VA) == pa_of(e->stack));
	EXPECT(arch_vm_unmap(e->r, RO_VA) == pa_of(e->ro));
	arch_vm_destroy(e->r);
	kpage_free(e->code);
	kpage_free(e->stack);
	kpage_free(e->ro);
	EXPECT(pages_free() == e->free0);
	return true;
}

/* Run until something other than an interrupt (device interrupts may
 * arrive at any time; each must be reported as USER_EXIT_IRQ). */
static enum user_exit run_past_irqs(struct user_regs *u, struct trap_info *info)
{
	enum user_exit x;
	for (int i = 0; i < 100000; i++)
		if ((x = arch_user_run(u, info)) != USER_EXIT_IRQ)
			return x;
	return USER_EXIT_IRQ;
}

bool ktest_user_syscall(void)
{
	struct uenv e;
	struct user_regs u;
	struct trap_info info;
	bool irqs_on = arch_irq_enabled();

	if (!uenv_setup(&e))
		return false;
	arch_uregs_init(&u, CODE_VA, STACK_VA + PAGE_SIZE, 7, RO_VA);
	EXPECT(arch_uregs_pc(&u) == CODE_VA);
	EXPECT(arch_uregs_sp(&u) == STACK_VA + PAGE_SIZE);

	EXPECT(run_past_irqs(&u, &info) == USER_EXIT_SYSCALL);
	EXPECT(arch_irq_enabled() == irqs_on);
	EXPECT(arch_syscall_nr(&u) == 100);
	EXPECT(arch_syscall_arg(&u, 0) == 8);
	EXPECT(arch_syscall_arg(&u, 1) == 2 * RO_VA);
	EXPECT(arch_uregs_sp(&u) == STACK_VA + PAGE_SIZE);
	uint64_t pc100 = arch_uregs_pc(&u);
	arch_syscall_return(&u, 42);
	EXPECT(arch_uregs_pc(&u) > pc100);

	EXPECT(run_past_irqs(&u, &info) == USER_EXIT_SYSCALL);
	EXPECT(arch_syscall_nr(&u) == 101);
	EXPECT(arch_syscall_arg(&u, 0) == 42);
	arch_syscall_return(&u, 0);

	EXPECT(run_past_irqs(&u, &info) == USER_EXIT_FAULT);
	char what[128], want[64];
	trap_describe(what, sizeof(what), &info);
	printf("    fault: %s\n", what);
	EXPECT(info.kind == TRAP_KIND_MEMORY);
	EXPECT(info.from_user);
	EXPECT(info.has_addr && !info.has_insn);
	EXPECT(info.addr == RO_VA);
	/* The report names the pc and, separately, the address. */
	snprintf(want, sizeof(want), " at pc %#llx, address %#llx", (unsigned long long)info.pc,
		 (unsigned long long)RO_VA);
	EXPECT(strstr(what, want) != NULL);
	EXPECT(info.pc >= CODE_VA && info.pc < CODE_VA + e.prog.len);
	EXPECT(info.pc == arch_uregs_pc(&u));
	EXPECT(arch_irq_enabled() == irqs_on);

	/* Also with interrupts masked on entry: they stay masked after. */
	unsigned long f = arch_irq_save();
	arch_uregs_init(&u, CODE_VA, STACK_VA + PAGE_SIZE, 1, RO_VA);
	enum user_exit x = run_past_irqs(&u, &info);
	bool still_off = !arch_irq_enabled();
	arch_irq_restore(f);
	EXPECT(x == USER_EXIT_SYSCALL && arch_syscall_nr(&u) == 100);
	EXPECT(still_off);
	return uenv_teardown(&e);
}

static volatile int uirq_fired;

static void uirq_fn(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
	uirq_fired++;
}

bool ktest_user_irq(void)
{
	struct uenv e;
	struct user_regs u;
	struct trap_info info;
	unsigned irqs = 0;

	if (!uenv_setup(&e))
		return false;
	arch_uregs_init(&u, CODE_VA + e.prog.spin_off, STACK_VA + PAGE_SIZE, 0, 0);
	uirq_fired = 0;
	ktimer_arm(arch_timer_now() + ktimer_us_to_ticks(1000), uirq_fn, NULL);
	while (!uirq_fired && irqs < 100000) {
		EXPECT(arch_user_run(&u, &info) == USER_EXIT_IRQ);
		irqs++;
	}
	printf("    %u interrupt exit%s until the timer fired\n", irqs, irqs == 1 ? "" : "s");
	EXPECT(uirq_fired == 1);
	EXPECT(arch_uregs_pc(&u) >= CODE_VA + e.prog.spin_off);
	EXPECT(arch_uregs_pc(&u) < CODE_VA + e.prog.len);
	return uenv_teardown(&e);
}

bool ktest_user_illegal(void)
{
	struct uenv e;
	struct user_regs u;
	struct trap_info info;

	if (!uenv_setup(&e))
		return false;
	arch_uregs_init(&u, CODE_VA + e.prog.illegal_off, STACK_VA + PAGE_SIZE, 0, 0);
	EXPECT(run_past_irqs(&u, &info) == USER_EXIT_FAULT);
	char what[128], want[64];
	trap_describe(what, sizeof(what), &info);
	printf("    fault: %s\n", what);
	EXPECT(info.kind == TRAP_KIND_ILLEGAL);
	EXPECT(info.from_user);
	EXPECT(info.pc == CODE_VA + e.prog.illegal_off);
	/* An illegal instruction has no faulting address; the all-zero word
	 * gives riscv's stval no bits to report either. */
	EXPECT(!info.has_addr && !info.has_insn);
	snprintf(want, sizeof(want), " at pc %#llx", (unsigned long long)info.pc);
	EXPECT(strstr(what, want) != NULL && strstr(what, "address") == NULL);
	return uenv_teardown(&e);
}

/* ---- vm_asid: address spaces stay apart across ASID reuse -------------------*/

/* Run the self-test program from the start in root r and say how it
 * ended: a store to RO_VA that faults (MEMORY) when the page is mapped
 * read-only, or, when the store succeeds because the page is writable,
 * the illegal instruction after it (ILLEGAL).  -1 on anything else. */
static void watchdog_fn(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
}

/* Like run_past_irqs, but a program that never traps (spins) ends the
 * run with USER_EXIT_IRQ after about 100 ms instead of hanging the test. */
static enum user_exit run_bounded(struct user_regs *u, struct trap_info *info)
{
	uint64_t deadline = arch_timer_now() + ktimer_us_to_ticks(100000);
	enum user_exit x;

	ktimer_arm(deadline, watchdog_fn, NULL);
	do
		x = arch_user_run(u, info);
	while (x == USER_EXIT_IRQ && arch_timer_now() < deadline);
	ktimer_cancel();
	return x;
}

static int selftest_outcome(struct vm_root *r)
{
	struct user_regs u;
	struct trap_info info;

	arch_vm_switch(r);
	arch_uregs_init(&u, CODE_VA, STACK_VA + PAGE_SIZE, 0, RO_VA);
	for (uint64_t nr = 100; nr <= 101; nr++) {
		if (run_bounded(&u, &info) != USER_EXIT_SYSCALL || arch_syscall_nr(&u) != nr)
			return -1;
		arch_syscall_return(&u, 0);
	}
	enum user_exit x = run_bounded(&u, &info);
	if (x != USER_EXIT_FAULT) {
		printf("    the program did not fault (exit %d, pc %#llx)\n", (int)x,
		       (unsigned long long)arch_uregs_pc(&u));
		return -1;
	}
	return (int)info.kind;
}

/* Changing a mapping of the running address space takes effect at once:
 * unmap must drop the old translation from the TLB (no table switch in
 * between to hide a missing invalidation). */
bool ktest_vm_remap(void)
{
	struct uenv e;
	volatile uint32_t *word;

	if (!uenv_setup(&e))
		return false;
	word = e.ro;
	*word = 0xdeadbeef;
	EXPECT(selftest_outcome(e.r) == TRAP_KIND_MEMORY);
	EXPECT(*word == 0xdeadbeef);
	for (int round = 0; round < 3; round++) {
		EXPECT(arch_vm_unmap(e.r, RO_VA) == pa_of(e.ro));
		EXPECT(arch_vm_map(e.r, RO_VA, pa_of(e.ro), VM_R | VM_W | VM_U) == 0);
		EXPECT(selftest_outcome(e.r) == TRAP_KIND_ILLEGAL);
		EXPECT(*word == 0); /* the user's store reached the frame */
		*word = 0xdeadbeef;
		EXPECT(arch_vm_unmap(e.r, RO_VA) == pa_of(e.ro));
		EXPECT(arch_vm_map(e.r, RO_VA, pa_of(e.ro), VM_R | VM_U) == 0);
		EXPECT(selftest_outcome(e.r) == TRAP_KIND_MEMORY);
		EXPECT(*word == 0xdeadbeef);
	}
	return uenv_teardown(&e);
}

/*
 * Two live address spaces map RO_VA differently (read-only in the first,
 * writable in the second), so which translation the hart used shows in
 * how the program ends.  Between checks, more short-lived address spaces
 * are created and switched to than any ASID space holds, forcing every
 * ASID (if the arch has them) to be recycled several times: a recycled
 * ASID shared by the two live spaces, or a stale TLB entry, would show
 * up as the wrong outcome.
 */
#define ASID_CYCLES 70000
#define ASID_CHECK_EVERY 5000

bool ktest_vm_asid(void)
{
	struct uenv e;
	void *rw;
	struct vm_root *b;

	if (!uenv_setup(&e))
		return false;
	rw = kpage_alloc();
	EXPECT(rw && (b = arch_vm_create()));
	EXPECT(arch_vm_map(b, CODE_VA, pa_of(e.code), VM_R | VM_X | VM_U) == 0);
	EXPECT(arch_vm_map(b, STACK_VA, pa_of(e.stack), VM_R | VM_W | VM_U) == 0);
	EXPECT(arch_vm_map(b, RO_VA, pa_of(rw), VM_R | VM_W | VM_U) == 0);

	size_t free0 = pages_free();
	for (unsigned i = 0; i <= ASID_CYCLES; i++) {
		if (i % ASID_CHECK_EVERY == 0) {
			EXPECT(selftest_outcome(e.r) == TRAP_KIND_MEMORY);
			EXPECT(selftest_outcome(b) == TRAP_KIND_ILLEGAL);
			EXPECT(selftest_outcome(e.r) == TRAP_KIND_MEMORY);
		}
		struct vm_root *t = arch_vm_create();
		EXPECT(t);
		arch_vm_switch(t);
		arch_vm_switch(NULL);
		arch_vm_destroy(t);
	}
	EXPECT(pages_free() == free0);
	printf("    %u address spaces switched to; the two live ones stayed apart\n",
	       ASID_CYCLES);

	arch_vm_switch(NULL);
	EXPECT(arch_vm_unmap(b, CODE_VA) == pa_of(e.code));
	EXPECT(arch_vm_unmap(b, STACK_VA) == pa_of(e.stack));
	EXPECT(arch_vm_unmap(b, RO_VA) == pa_of(rw));
	arch_vm_destroy(b);
	kpage_free(rw);
	return uenv_teardown(&e);
}

/* ---- null syscall: instructions per round trip through arch_user_run ------*/

#define BENCH_ROUNDS 10
#define BENCH_ITERS 100

/* Each iteration: the user's `li a7, 100; ecall; j loop` (or the arch's
 * equivalent), the trap into the kernel, arch_user_run's return, the
 * number check and arch_syscall_return, and the way back.  The minimum
 * over rounds drops rounds that an interrupt hit.  Under -icount the
 * instret counts are exact. */
bool ktest_user_null_syscall(void)
{
	struct uenv e;
	struct user_regs u;
	struct trap_info info;
	uint64_t best = UINT64_MAX;

	if (!uenv_setup(&e))
		return false;
	if (!e.prog.loop_off) {
		printf("    no syscall loop in this arch's self-test program; skipped\n");
		return uenv_teardown(&e);
	}
	arch_uregs_init(&u, CODE_VA + e.prog.loop_off, STACK_VA + PAGE_SIZE, 0, 0);
	for (int round = 0; round <= BENCH_ROUNDS; round++) {
		uint64_t t0 = arch_instret();
		for (int i = 0; i < BENCH_ITERS; i++) {
			enum user_exit x = arch_user_run(&u, &info);
			if (x == USER_EXIT_IRQ) {
				i--;
				continue;
			}
			EXPECT(x == USER_EXIT_SYSCALL && arch_syscall_nr(&u) == 100);
			arch_syscall_return(&u, 0);
		}
		uint64_t n = arch_instret() - t0;
		if (round > 0 && n < best) /* round 0 warms up */
			best = n;
	}
	printf("    null syscall round trip: %llu instructions (user loop + arch + test loop)\n",
	       (unsigned long long)(best / BENCH_ITERS));
	return uenv_teardown(&e);
}

/* ---- destructive: W^X of the kernel image ------------------------------------*/

bool ktest_kernel_wx(void)
{
	volatile uint32_t *text = (volatile uint32_t *)(uintptr_t)ktest_kernel_wx;
	uint32_t insn = *text;
	printf("    writing to kernel text at %p; expect an exception report\n", (void *)text);
	*text = insn; /* the same value: harmless if the store were allowed */
	printf("    the store to kernel text did not fault\n");
	return false;
}
