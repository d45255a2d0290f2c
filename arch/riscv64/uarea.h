/* riscv64 per-hart user-switch area: what sscratch points at while a hart runs user code. */
#ifndef ARCH_RISCV64_UAREA_H
#define ARCH_RISCV64_UAREA_H

/*
 * While a hart runs user code, sscratch holds the address of its struct
 * rv_uarea; while it runs the kernel, sscratch is 0.  rv_user_enter fills
 * the area with the kernel's callee-saved registers (and gp, tp) and the
 * struct user_regs being run; the trap vector, seeing sscratch != 0,
 * saves the user registers into *cur, reloads the kernel registers and
 * returns from rv_user_enter.  Keep the offsets in sync with uentry.S.
 */
#define UA_RA 0
#define UA_SP 8
#define UA_GP 16
#define UA_TP 24
#define UA_S0 32 /* s0..s11 at UA_S0 + 8 * i */
#define UA_CUR 128
#define UA_T0 136 /* scratch for the user's t0 during the save */
#define UA_SIZE 192

/* struct user_regs: x1..x31 at 8 * (n - 1), then the pc. */
#define UR_PC (31 * 8)

#ifndef __ASSEMBLY__
#include <stdint.h>

#include "arch_uregs.h"

struct rv_uarea {
	uint64_t ra, sp, gp, tp;
	uint64_t s[12];
	struct user_regs *cur;
	uint64_t t0;
	uint64_t pad[6];
};

_Static_assert(sizeof(struct rv_uarea) == UA_SIZE, "uarea size");
_Static_assert(__builtin_offsetof(struct rv_uarea, s) == UA_S0, "uarea s0");
_Static_assert(__builtin_offsetof(struct rv_uarea, cur) == UA_CUR, "uarea cur");
_Static_assert(__builtin_offsetof(struct rv_uarea, t0) == UA_T0, "uarea t0");
_Static_assert(__builtin_offsetof(struct user_regs, pc) == UR_PC, "user_regs pc");

/* Enter user mode with u's registers and return the scause of the next
 * trap from it, with u updated.  Interrupts must be masked (SIE = 0). */
uint64_t rv_user_enter(struct user_regs *u, struct rv_uarea *area);
#endif

#endif /* ARCH_RISCV64_UAREA_H */
