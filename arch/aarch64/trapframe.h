/* The aarch64 trap frame: what vectors.S saves on every exception, shared by asm and C. */
#ifndef ARCH_AARCH64_TRAPFRAME_H
#define ARCH_AARCH64_TRAPFRAME_H

/*
 * Layout (byte offsets; vectors.S uses the TF_* numbers, C the struct, and
 * the _Static_asserts below keep the two in step):
 *
 *     0   x[0..30]      general registers
 *   248   sp            stack pointer of the interrupted context
 *   256   elr           ELR_EL1: where eret resumes
 *   264   spsr          SPSR_EL1: PSTATE to restore
 *   272   esr           ESR_EL1 at entry (syndrome)
 *   280   far           FAR_EL1 at entry (fault address)
 *   288   fpcr, fpsr    FP control and status
 *   304   q[0..31]      FP/SIMD registers, 16 bytes each
 *   816   stamp         test kernel: instruction counter at the vector
 *   832   end (TF_SIZE, a multiple of 16 so SP stays aligned)
 *
 * The FP/SIMD half is saved because picolibc (memcpy, printf) uses the
 * vector registers even though Pollux's own C is -mgeneral-regs-only, so
 * both the interrupted code and the handler may hold live values there.
 *
 * Handlers may change x[], elr and spsr; vectors.S restores them.  For a
 * trap taken from EL1 the saved sp is informational (the stack is unwound
 * by popping the frame); for a trap from EL0 it is SP_EL0 and is restored.
 */
#define TF_X(n)     ((n) * 8)
#define TF_SP       248
#define TF_ELR      256
#define TF_SPSR     264
#define TF_ESR      272
#define TF_FAR      280
#define TF_FPCR     288
#define TF_FPSR     296
#define TF_Q(n)     (304 + (n) * 16)
#define TF_STAMP    816
#define TF_SIZE     832

/* Vector slots, in VBAR_EL1 order: four groups of sync/irq/fiq/serror. */
#define VEC_CUR_SP0_SYNC   0
#define VEC_CUR_SP0_IRQ    1
#define VEC_CUR_SP0_FIQ    2
#define VEC_CUR_SP0_SERR   3
#define VEC_CUR_SPX_SYNC   4
#define VEC_CUR_SPX_IRQ    5
#define VEC_CUR_SPX_FIQ    6
#define VEC_CUR_SPX_SERR   7
#define VEC_LOW64_SYNC     8
#define VEC_LOW64_IRQ      9
#define VEC_LOW64_FIQ      10
#define VEC_LOW64_SERR     11
#define VEC_LOW32_SYNC     12
#define VEC_LOW32_IRQ      13
#define VEC_LOW32_FIQ      14
#define VEC_LOW32_SERR     15

#ifndef __ASSEMBLY__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trap_frame {
	uint64_t x[31];
	uint64_t sp;
	uint64_t elr;
	uint64_t spsr;
	uint64_t esr;
	uint64_t far;
	uint64_t fpcr;
	uint64_t fpsr;
	/* 128-bit registers as two halves: the C side never computes with
	 * them (-mgeneral-regs-only), it only needs the storage. */
	uint64_t q[32][2];
	uint64_t stamp;		/* arch_trap_stamp (TRAP_STAMP builds) */
	uint64_t pad;
};

_Static_assert(offsetof(struct trap_frame, x[30]) == TF_X(30), "tf x30");
_Static_assert(offsetof(struct trap_frame, sp) == TF_SP, "tf sp");
_Static_assert(offsetof(struct trap_frame, elr) == TF_ELR, "tf elr");
_Static_assert(offsetof(struct trap_frame, spsr) == TF_SPSR, "tf spsr");
_Static_assert(offsetof(struct trap_frame, esr) == TF_ESR, "tf esr");
_Static_assert(offsetof(struct trap_frame, far) == TF_FAR, "tf far");
_Static_assert(offsetof(struct trap_frame, fpcr) == TF_FPCR, "tf fpcr");
_Static_assert(offsetof(struct trap_frame, fpsr) == TF_FPSR, "tf fpsr");
_Static_assert(offsetof(struct trap_frame, q[0]) == TF_Q(0), "tf q0");
_Static_assert(offsetof(struct trap_frame, stamp) == TF_STAMP, "tf stamp");
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "tf size");
_Static_assert(TF_SIZE % 16 == 0, "frame keeps sp 16-byte aligned");

/* SPSR_EL1.M[3:0]: EL and stack the trap came from (0 = EL0t). */
#define SPSR_M_MASK   0xfUL
#define SPSR_EL0T     0x0UL

/* C entry from vectors.S with the frame built; `vec` is the slot 0..15. */
void a64_trap(struct trap_frame *tf, unsigned long vec);

/* Frame of the IRQ the calling hart is serving (for arch_irqc_claim's
 * calls to trap_timer/trap_ipi); NULL outside the IRQ path. */
struct trap_frame *a64_trap_frame_current(void);

/* Serve an IRQ (trap_irq's claim loop) for the interrupted context tf;
 * interrupts masked.  vectors.S's kernel path and user.c's EL0 path. */
void a64_trap_irq_entry(struct trap_frame *tf);

/* Serve the IRQ that ended arch_idle_wait (vectors.S's short path): the
 * timer directly, anything else through a64_trap_irq_entry (gic.c). */
void a64_idle_irq(struct trap_frame *tf);

/* A synchronous exception's ESR in words, e.g. "data abort (translation
 * fault, level 3) on write"; the string lives in a per-hart buffer that
 * the next exception on the hart overwrites. */
const char *a64_trap_describe(uint64_t esr, unsigned hart);

/* Whether FAR_EL1 holds the faulting address for exception class ec. */
bool a64_ec_sets_far(unsigned ec);
#endif

#endif /* ARCH_AARCH64_TRAPFRAME_H */
