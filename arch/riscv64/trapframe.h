/* riscv64 trap frame: the layout trapvec.S saves, shared with C. */
#ifndef ARCH_RISCV64_TRAPFRAME_H
#define ARCH_RISCV64_TRAPFRAME_H

/* x1..x31 at 8*(n-1); then the CSRs.  Keep in sync with trapvec.S. */
#define TF_SEPC (31 * 8)
#define TF_SSTATUS (32 * 8)
#define TF_SCAUSE (33 * 8)
#define TF_STVAL (34 * 8)
#define TF_STAMP (35 * 8) /* test kernel: instret at the vector (arch_trap_stamp) */
#define TF_SIZE (36 * 8) /* 16-byte aligned */

#ifndef __ASSEMBLY__
#include <stdint.h>

struct trap_frame {
	uint64_t x[31]; /* x[0] is x1 (ra), x[1] is x2 (sp), ... x[30] is x31 */
	uint64_t sepc;
	uint64_t sstatus;
	uint64_t scause;
	uint64_t stval;
	uint64_t stamp;
};

_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "trap frame size");
_Static_assert(__builtin_offsetof(struct trap_frame, sepc) == TF_SEPC, "sepc");
_Static_assert(__builtin_offsetof(struct trap_frame, stval) == TF_STVAL, "stval");
#endif

#endif /* ARCH_RISCV64_TRAPFRAME_H */
