/* The one arch contract: everything arch-neutral code may ask of the CPU. */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

/*
 * kernel/ and executor/ include this header and nothing else under arch/.
 * Each arch implements every function here in arch/<arch>/; the Makefile
 * picks the directory.  Functions marked "kernel provides" go the other way:
 * the arch's trap code calls them, kernel/ defines them.
 *
 * Conventions
 *   - "hart" means a RISC-V hart or an Arm PE; harts are numbered 0..n-1:
 *     0 is the boot hart, the others follow in the order the device tree
 *     lists them (struct arch_machine's hart_hwid[i] is hart i's hartid /
 *     MPIDR affinity; the kernel puts the boot hart first).
 *   - What the arch knows about the machine it learns from the kernel,
 *     through arch_machine_init; arch code includes no kernel header.
 *   - Time is in ticks of the arch timer; arch_timer_freq() converts.
 *   - Functions that touch per-hart state act on the calling hart.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The user ABI (user address range, PX_E* error numbers) binds user
 * programs, the kernel and this contract alike (arch_vm_map's range and
 * errors, the syscall registers), so the contract builds on it: the one
 * header outside arch/ that arch code sees, and only through here. */
#include "lib/uapi/pollux.h"

struct trap_frame; /* layout private to arch/<arch>/ */
struct trap_info;

/* struct user_regs: the saved user context.  Its layout is the arch's
 * (arch/<arch>/include/arch_uregs.h); neutral code embeds it in struct
 * proc but touches it only through the arch_uregs_* and arch_syscall_*
 * functions below. */
#include "arch_uregs.h"

/* Some functions below are static inline in the arch's arch_cpu.h
 * (arch/<arch>/include/), because every wake-up calls them: the
 * interrupt masking save/restore pair, arch_hart_id, arch_timer_now,
 * arch_cpu_relax and arch_trap_stamp.  Their contract is the one
 * written here. */
#include "arch_cpu.h"

/* ---- Boot --------------------------------------------------------------
 *
 * The arch's assembly entry (linker script ENTRY) runs on the boot hart with
 * the MMU in whatever state the firmware left it, sets up a stack, clears
 * .bss and calls kmain() with the physical address of the flattened device
 * tree.  Before kmain runs, the arch has made the C environment whole: on
 * aarch64 FP/SIMD is enabled (picolibc may use it) and the MMU maps RAM as
 * normal memory so unaligned accesses are legal.
 */

/* kernel provides: C entry on the boot hart. */
void kmain(const void *dtb);

/* Per-hart trap setup: install the trap vector, clear pending timer state.
 * Called by kmain on the boot hart before interrupts are enabled. */
void arch_trap_init(void);

/* Name for banners and logs: "riscv64" or "aarch64". */
extern const char arch_name[];
/* How the boot hart was entered, for the boot banner: "" if nothing to
 * say; aarch64: ", entered at EL2" when it dropped from EL2 to EL1. */
const char *arch_boot_note(void);
/* The ELF e_machine of programs this arch runs (EM_RISCV, EM_AARCH64). */
extern const unsigned arch_elf_machine;

/* Device-tree fallback: the QEMU virt layout, used only when the boot
 * protocol handed over no device tree.  Documented in docs/boot.md. */
const void *arch_fallback_dtb(void);

/* The boot hart's hardware id, as the device tree's /cpus "reg" spells it
 * (riscv: the hartid the firmware entered with; aarch64: MPIDR_EL1's
 * affinity fields).  The kernel uses it to put the boot hart first. */
uint64_t arch_boot_hwid(void);

/* ---- The machine ----------------------------------------------------------
 *
 * What the arch code needs to know about the machine, filled by the kernel
 * from the device tree (the kernel's full description is struct machine in
 * kernel/machine.h) and handed over once, on the boot hart, by
 * arch_machine_init: after arch_hart_init(0) and before any other arch_*
 * call except arch_instret, arch_fallback_dtb, arch_boot_hwid and
 * arch_power_off (which then works without a test finisher).  The arch
 * keeps a copy of *m.
 */
#define ARCH_MAX_HARTS 8 /* room in hart_hwid[]; the build's SMP_MAX fits */

enum arch_irqc_kind {
	ARCH_IRQC_NONE = 0,
	ARCH_IRQC_PLIC,   /* RISC-V PLIC */
	ARCH_IRQC_GICV2,  /* Arm GICv2 (aarch64 refuses it: GICv3 only) */
	ARCH_IRQC_GICV3,  /* Arm GICv3 */
};

enum arch_fw_conduit {
	ARCH_FW_NONE = 0, /* aarch64: no PSCI; riscv64: unused (always SBI) */
	ARCH_FW_HVC,      /* PSCI over HVC */
	ARCH_FW_SMC,      /* PSCI over SMC */
};

struct arch_machine {
	uint64_t mem_base;          /* RAM the kernel map covers */
	uint64_t mem_size;
	uint64_t timer_freq;        /* Hz; 0: ask the hardware (aarch64) or 10 MHz */
	unsigned timer_irq;         /* aarch64: INTID of the EL1 timer; 0: PPI 30 */
	bool timer_sstc;            /* riscv64: every hart has Sstc (stimecmp) */
	enum arch_irqc_kind irqc_kind;
	uint64_t irqc_base;         /* PLIC, or GIC distributor */
	uint64_t irqc2_base;        /* GICv3 redistributors / GICv2 CPU interface */
	uint64_t irqc2_size;
	unsigned nharts;            /* 1..SMP_MAX (the kernel drops the rest) */
	uint64_t hart_hwid[ARCH_MAX_HARTS]; /* hart i's hartid / MPIDR affinity */
	enum arch_fw_conduit fw;    /* aarch64: how PSCI is reached */
	uint64_t test_dev;          /* riscv64: "sifive,test0" finisher; 0 = none */
};
void arch_machine_init(const struct arch_machine *m);

/* ---- Interrupt state ----------------------------------------------------
 *
 * Mask/unmask asynchronous interrupts on the calling hart.  save returns an
 * opaque token for restore, so critical sections nest.  Each implies a
 * compiler barrier; none is a memory barrier between harts.
 */
void arch_irq_on(void);
void arch_irq_off(void);
unsigned long arch_irq_save(void);
void arch_irq_restore(unsigned long flags);
bool arch_irq_enabled(void);

/* Wait for an interrupt.  Call with interrupts masked: returns once an
 * enabled interrupt is pending (it is not taken yet; the caller unmasks to
 * take it).  This closes the race between "queue empty?" and sleeping. */
void arch_wait_for_interrupt(void);

/* The executor's idle wait.  Call with interrupts masked: unmasks them,
 * waits, and returns masked again once the handlers of the interrupt
 * that ended the wait have run (or at once, after a spurious wake-up).
 * Unlike arch_wait_for_interrupt followed by an unmask, the interrupt is
 * taken at a call boundary, where the registers a call may clobber are
 * dead: the arch's vector takes it on a short path that saves almost
 * nothing. */
void arch_idle_wait(void);

/* A spin-wait hint, once per turn of a loop waiting for another hart
 * (aarch64 YIELD, riscv64 PAUSE).  On hardware it only saves power; under
 * QEMU's one-thread round-robin (-icount) it is what lets the hart that
 * holds the lock run: without it a spinning hart keeps the host thread
 * until the next virtual timer. */
void arch_cpu_relax(void);

/* Full barrier between normal memory and device (MMIO) accesses, in both
 * directions: ring stores are visible to a device before a later MMIO
 * write (a doorbell), and a device's DMA writes are visible after an
 * earlier MMIO read or interrupt.  (riscv: fence iorw,iorw; arm: dsb sy.) */
void arch_io_barrier(void);

/* ---- Timer --------------------------------------------------------------
 *
 * One free-running monotonic counter and one one-shot deadline per hart.
 * There is no periodic tick: a deadline fires once, then the timer stays
 * quiet until someone programs another.
 */
uint64_t arch_timer_now(void);
uint64_t arch_timer_freq(void);
/* Arm the one-shot: an interrupt reaches trap_timer() once now >= deadline.
 * ARCH_TIMER_OFF disarms.  Reprogramming replaces the previous deadline. */
#define ARCH_TIMER_OFF UINT64_MAX
void arch_timer_set(uint64_t deadline);

/* Retired-instruction counter of the calling hart (under QEMU -icount the
 * exact guest instruction count since reset).  For benchmarks only. */
uint64_t arch_instret(void);
/* What arch_instret advanced while harts slept in arch_wait_for_interrupt
 * with interrupts masked or in the park (below), summed over the harts:
 * under -icount riscv64's instret is the virtual clock and runs on
 * through a WFI, aarch64's INST_RETIRED does not (0 there).  Benchmarks
 * take it off. */
uint64_t arch_wfi_instret(void);
/* The park calls this before arch_idle_wait, so that arch_wfi_instret
 * also holds its sleeps: from here to the interrupt that ends the wait
 * (the few dozen instructions of the park before its WFI count as
 * sleep; the handlers of the interrupt do not).  A sleep is added up at
 * the next park or arch_wfi_instret on that hart. */
void arch_idle_account_begin(void);
/* The instruction counter as it was at the first instruction of the trap
 * vector that built tf: the start of the interrupt-latency benchmarks.
 * Only its low 32 bits are exact (aarch64's event counter is 32 bits
 * wide): subtract from arch_instret() modulo 2^32.  Only the test kernel
 * (built with TRAP_STAMP) records it; otherwise 0. */
uint64_t arch_trap_stamp(const struct trap_frame *tf);

/* ---- Interrupt controller (PLIC / GIC) ----------------------------------
 *
 * Device interrupts by the number the device tree gives (PLIC source, GIC
 * INTID).  The timer and IPIs are not routed through here: the arch handles
 * them and calls trap_timer() / trap_ipi().
 */
/* Set up the controller arch_machine_init described (boot hart, once),
 * then this hart's side of it (every hart, once).  Each returns 0, or a
 * negative number with *why set to a one-line reason (no controller, one
 * of a kind this arch does not drive, hardware that does not answer as
 * its kind must); the kernel reports it and stops. */
int arch_irqc_init(const char **why);
int arch_irqc_init_hart(const char **why);
void arch_irqc_enable(unsigned irq, unsigned hart);
/* Whether the kernel may route device interrupts to harts other than 0
 * (kernel/irq.c's policy); false keeps them all on hart 0. */
bool arch_irqc_spread_ok(void);
void arch_irqc_disable(unsigned irq);
void arch_irqc_set_priority(unsigned irq, unsigned prio); /* 1 = lowest */
/* Claim the highest-priority pending device interrupt; 0 means none
 * (on aarch64 also: the claim served the timer or an IPI itself; what
 * is still pending then is taken when interrupts are unmasked again). */
unsigned arch_irqc_claim(void);
void arch_irqc_complete(unsigned irq);

/* ---- Harts --------------------------------------------------------------
 *
 * Secondary bring-up.  The boot hart calls arch_start_hart(h, hw_id, 0)
 * for each other hart h (1..n-1, hw_id = the device tree's riscv hartid
 * or MPIDR).  The firmware (SBI HSM hart_start / PSCI CPU_ON) starts that
 * hart at the kernel's one entry point, the same as the boot hart's.
 * The entry lets only the first hart to arrive boot; any other parks,
 * touching nothing, until arch_start_hart (or arch_release_hart) has
 * named its hw_id as hart h, so a hart that arrives early or at the
 * wrong address cannot disturb the boot.  Released, it masks interrupts,
 * takes boot stack number h (SMP_MAX exist), enables FP/SIMD (aarch64),
 * turns on the MMU with the kernel address space (the one arch_vm_init
 * built: so arch_vm_init must have run) and then calls
 * kmain_secondary(h).  kmain_secondary must, in this order: set up the
 * hart's TLS, call arch_hart_init(h), arch_trap_init(),
 * arch_irqc_init_hart(), and only then unmask interrupts.
 */
unsigned arch_hart_id(void);          /* 0..n-1 */
/* Send an inter-processor interrupt to `hart` (may be the caller): it
 * reaches trap_ipi() there.  Earlier stores are visible to the target
 * before its trap_ipi runs.  Any context. */
void arch_send_ipi(unsigned hart);
/* Release hart `hart` (hw_id) and ask the firmware to start it.  arg is 0,
 * or ARCH_START_EARLY: start it but leave it parked in the entry until
 * arch_release_hart(hart, hw_id) (a test of the parking: the hart comes
 * in before it is released, as one would that a firmware race let in).
 * Returns 0 once the firmware accepted the request (the hart may not have
 * reached kmain_secondary yet), or a negative firmware error (SBI / PSCI
 * code). */
#define ARCH_START_EARLY 1u
int arch_start_hart(unsigned hart, uint64_t hw_id, uintptr_t arg);
void arch_release_hart(unsigned hart, uint64_t hw_id);
/* Make arch_hart_id() return `hart` on the calling hart.  Called by kmain
 * (hart 0) and kmain_secondary right after TLS is set up. */
void arch_hart_init(unsigned hart);

/* kernel provides: C entry of secondary hart `hart`; never returns. */
_Noreturn void kmain_secondary(unsigned hart);

/* ---- Memory: kernel provides ---------------------------------------------
 *
 * The arch's page-table code gets its table pages from the kernel's frame
 * allocator.  Pages are 4 KiB, zeroed, and addressed by the kernel at their
 * physical address (the kernel is identity-mapped). */
#define PAGE_SIZE 4096u
void *kpage_alloc(void);     /* NULL when memory is exhausted */
void kpage_free(void *page);

/* ---- Virtual memory -------------------------------------------------------
 *
 * One page table per address space.  Every address space maps the kernel
 * the same way (identity: VA == PA for MMIO and RAM below 4 GiB; kernel
 * only; the kernel image W^X: text RX, rodata R, data RW, the rest of RAM
 * RW and never executable), so a trap or a syscall switches no table.  User
 * pages live in [PX_USER_BASE, PX_USER_TOP) (lib/uapi/pollux.h).
 * Riscv64: Sv39; aarch64: 4 KiB granule, 39-bit VA, TTBR0.
 */
#define VM_R 1u
#define VM_W 2u
#define VM_X 4u
#define VM_U 8u   /* accessible from user mode */

struct vm_root;   /* an address space's root table; opaque */

/* Build the kernel mappings for the RAM arch_machine_init described and
 * switch this hart to them.  Boot hart, once, after the frame allocator
 * works; 0 or a negative error. */
int arch_vm_init(void);
/* A new address space that maps only the kernel.  NULL if out of memory. */
struct vm_root *arch_vm_create(void);
/* Free every table page of the user range and the root itself.  The
 * frames the leaves pointed at are the caller's (unmap them first).
 * Must not be the active table on any hart. */
void arch_vm_destroy(struct vm_root *r);
/* Map one page: va (user range, page aligned) -> pa with perm (VM_*; W
 * without R is invalid; W and X together are refused: W^X).  0 on success;
 * -PX_ENOMEM when a table page cannot be had; -PX_EINVAL for bad
 * arguments or an existing mapping.  A page mapped with VM_X must hold
 * its final contents before this call: mapping it makes the instruction
 * stream coherent with them (riscv fence.i; arm clean + invalidate to
 * PoU). */
int arch_vm_map(struct vm_root *r, uint64_t va, uint64_t pa, unsigned perm);
/* Remove the mapping of va; returns the pa it had, or 0 if none.  The TLB
 * entry is invalidated on every hart that may hold it (at once, or before
 * that hart next switches to r).  r may be the active table of the
 * calling hart only: other harts must have switched away from r
 * (arch_vm_switch) since they last ran it. */
uint64_t arch_vm_unmap(struct vm_root *r, uint64_t va);
/* The pa of the page holding va and its perm; false if not mapped. */
bool arch_vm_lookup(const struct vm_root *r, uint64_t va, uint64_t *pa, unsigned *perm);
/* Make r the current address space of this hart (NULL: kernel only). */
void arch_vm_switch(struct vm_root *r);
/* Table pages r uses (for per-process memory accounting). */
size_t arch_vm_table_pages(const struct vm_root *r);

/* ---- User mode ------------------------------------------------------------*/

/* Fresh user context: starts at pc with stack pointer sp and the first two
 * argument registers set (argc, argv). */
void arch_uregs_init(struct user_regs *u, uint64_t pc, uint64_t sp,
		     uint64_t arg0, uint64_t arg1);
uint64_t arch_uregs_pc(const struct user_regs *u);
uint64_t arch_uregs_sp(const struct user_regs *u);
/* Print every user register (fault reports). */
void arch_uregs_dump(const struct user_regs *u);

/* Syscall ABI (lib/uapi/pollux.h): the number, argument i (0..5), and
 * setting the result, which also moves the pc past the syscall
 * instruction when the arch needs that.  An arch may define these three
 * static inline in its arch_uregs.h (they are on the syscall fast path). */
uint64_t arch_syscall_nr(const struct user_regs *u);
uint64_t arch_syscall_arg(const struct user_regs *u, unsigned i);
void arch_syscall_return(struct user_regs *u, int64_t value);

enum user_exit {
	USER_EXIT_SYSCALL, /* the program made a syscall */
	USER_EXIT_IRQ,     /* an interrupt arrived; already handled (trap_timer,
			      trap_irq, trap_ipi ran); the caller may yield */
	USER_EXIT_FAULT,   /* an exception; *info says which */
	USER_EXIT_FP,      /* first FP/SIMD use of a context without an FP area:
			      attach one (arch_uregs_fp_attach) and run again,
			      which re-executes the instruction */
};

/*
 * Lazy FP/SIMD state.  A fresh context (arch_uregs_init) has no FP area:
 * its user code may not touch FP/SIMD registers, and arch_user_run
 * neither saves nor restores them.  Its first FP/SIMD instruction ends the
 * run with USER_EXIT_FP instead of executing; the kernel then attaches a
 * save area of arch_uregs_fp_size() bytes (zeroed, 16-byte aligned; the
 * kernel owns the memory) and runs the context again.  From then on every
 * arch_user_run restores the FP/SIMD registers from the area before it
 * enters user mode and saves them there on every exit, so the state is in
 * memory whenever the context is not running and the next run may be on
 * any hart (each run sets the calling hart's trap setting for the context
 * it enters).  The context starts with zeroed registers and default
 * control (round to nearest, no traps).
 *
 * An arch whose user code has no FP state (riscv64: rv64imac) returns 0
 * from arch_uregs_fp_size and never reports USER_EXIT_FP; attach must
 * then not be called, and detach returns NULL.
 */
size_t arch_uregs_fp_size(void);
/* Give u the save area `area` (arch_uregs_fp_size() zeroed bytes).
 * Precondition: u has none. */
void arch_uregs_fp_attach(struct user_regs *u, void *area);
/* Take u's save area back (to free it), or NULL if it has none; u then
 * has none (a later FP use reports USER_EXIT_FP again). */
void *arch_uregs_fp_detach(struct user_regs *u);

/*
 * Run the user context u in the current address space until it traps,
 * save its state back into u and say why.  This is the whole of "running
 * a process" for the stackless kernel: a process task's poll calls it in a
 * loop, on the hart's one kernel stack.  Callable with interrupts on or
 * off; returns with them as they were.  The user runs with interrupts on.
 */
enum user_exit arch_user_run(struct user_regs *u, struct trap_info *info);

/* Self test of user mode, in arch/<arch>/ktest/ (linked only into the
 * test kernel): a tiny position-independent machine-code program, entered
 * at code+0 with arg0 and arg1 set, that
 *   1. makes syscall 100 with argument 0 = arg0 + 1, argument 1 = arg1 * 2;
 *   2. makes syscall 101 with argument 0 = the result syscall 100 returned;
 *   3. stores a word to the address arg1 (the test passes a read-only page);
 *   4. if that store did not fault (a writable page), executes the illegal
 *      instruction at code+illegal_off (falls or branches there), so the
 *      test can tell which translation the store used.
 * At code+spin_off it loops forever; at code+illegal_off it executes an
 * illegal instruction.  At code+loop_off it makes syscall 100 in an
 * endless loop (the null-syscall benchmark: each arch_user_run returns
 * USER_EXIT_SYSCALL with number 100; arch_syscall_return resumes it);
 * loop_off 0 means "not provided" (the benchmark is skipped).
 * kernel/ktest/vm.c checks every step. */
struct arch_selftest_prog {
	const void *code;
	size_t len;
	size_t spin_off;
	size_t illegal_off;
	size_t loop_off;
};
void arch_selftest_user_prog(struct arch_selftest_prog *p);

/* ---- Power --------------------------------------------------------------*/
/* Stop the machine; QEMU exits with `status` (0 = success).  Never returns. */
_Noreturn void arch_power_off(int status);

/* ---- Traps: kernel provides ---------------------------------------------
 *
 * The trap vector saves the whole interrupted context in a struct
 * trap_frame, dispatches to one of these with interrupts still masked, and
 * restores the frame (possibly modified) on return.
 */
void trap_timer(struct trap_frame *tf);
void trap_ipi(struct trap_frame *tf);
void trap_irq(struct trap_frame *tf);     /* loops arch_irqc_claim/complete */

/* A synchronous exception the arch did not handle itself. */
enum trap_kind {
	TRAP_KIND_OTHER = 0,
	TRAP_KIND_MEMORY,     /* load/store/fetch fault, misaligned access */
	TRAP_KIND_ILLEGAL,    /* illegal or undefined instruction */
	TRAP_KIND_BREAKPOINT,
};

struct trap_info {
	const char *what;    /* human-readable cause, e.g. "load page fault" */
	enum trap_kind kind;
	uint64_t cause;      /* raw cause (scause / ESR_EL1) */
	uint64_t pc;         /* sepc / ELR_EL1: where it happened */
	uint64_t addr;       /* the faulting data or fetch address, if has_addr */
	uint64_t insn;       /* the offending instruction's bits, if has_insn */
	bool has_addr;       /* memory faults (stval / FAR_EL1) */
	bool has_insn;       /* riscv illegal instruction (stval, when nonzero) */
	bool from_user;
};
/* "WHAT at pc P[, address A | , instruction I]" into buf (kernel/trap.c). */
void trap_describe(char *buf, unsigned long n, const struct trap_info *info);
void trap_exception(struct trap_frame *tf, const struct trap_info *info);

/* Breakpoint instruction, used by the trap self-test: returns true if the
 * kernel handled it (the arch then resumes after the instruction). */
bool trap_breakpoint(struct trap_frame *tf);

/* ---- Trap-frame access for arch-neutral code ----------------------------*/
/* Print every register of `tf`, one aligned table (fault reports). */
void arch_dump_frame(const struct trap_frame *tf);
/* Execute the arch's breakpoint instruction (ebreak / brk). */
void arch_breakpoint(void);

#endif /* ARCH_ARCH_H */
