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
 *   - "hart" means a RISC-V hart or an Arm PE; harts are numbered 0..n-1 in
 *     the order the device tree lists them (the arch maps to hartid / MPIDR).
 *   - Time is in ticks of the arch timer; arch_timer_freq() converts.
 *   - Functions that touch per-hart state act on the calling hart.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct platform;
struct trap_frame; /* layout private to arch/<arch>/ */

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

/* Device-tree fallback: the QEMU virt layout, used only when the boot
 * protocol handed over no device tree.  Documented in docs/boot.md. */
const void *arch_fallback_dtb(void);

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

/* ---- Interrupt controller (PLIC / GIC) ----------------------------------
 *
 * Device interrupts by the number the device tree gives (PLIC source, GIC
 * INTID).  The timer and IPIs are not routed through here: the arch handles
 * them and calls trap_timer() / trap_ipi().
 */
void arch_irqc_init(const struct platform *plat);  /* once, boot hart */
void arch_irqc_init_hart(void);                     /* once per hart */
void arch_irqc_enable(unsigned irq, unsigned hart);
void arch_irqc_disable(unsigned irq);
void arch_irqc_set_priority(unsigned irq, unsigned prio); /* 1 = lowest */
/* Claim the highest-priority pending device interrupt; 0 means none. */
unsigned arch_irqc_claim(void);
void arch_irqc_complete(unsigned irq);

/* ---- Harts --------------------------------------------------------------*/
unsigned arch_hart_id(void);          /* 0..n-1 */
void arch_send_ipi(unsigned hart);
/* Start hart `hart` at the arch's secondary entry with `arg`; 0 on success,
 * a negative firmware error otherwise. */
int arch_start_hart(unsigned hart, uint64_t hw_id, uintptr_t arg);

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
struct trap_info {
	const char *what;    /* human-readable cause, e.g. "load page fault" */
	uint64_t cause;      /* raw cause (scause / ESR_EL1) */
	uint64_t addr;       /* faulting address (stval / FAR_EL1) */
	uint64_t pc;         /* sepc / ELR_EL1 */
	bool from_user;
};
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
