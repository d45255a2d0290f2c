/* Trace records: the one layout the kernel, the user library and scripts/pxtrace.py share. */
#ifndef LIB_UAPI_PX_TRACE_H
#define LIB_UAPI_PX_TRACE_H

#include <stdint.h>

/*
 * A tracing build (make TRACE=1, make trace; docs/kernel.md "Seeing a
 * wake-up travel") records events as fixed-size records: per hart in the
 * kernel (kernel/trace.c), per process in the user library
 * (user/lib/trace.c), which hands its records to the kernel with
 * SYS_trace_put.  At power-off the kernel prints every buffer on the
 * console and scripts/pxtrace.py turns them into Chrome Trace Event JSON
 * and an SVG timeline.  Other builds record nothing: the hooks are macros
 * that expand to nothing.
 *
 * ts is the arch's time counter (riscv64 `time`, aarch64 CNTPCT_EL0),
 * which every hart and user mode read alike.  pid is 0 for the kernel's
 * records; the kernel fills pid and hart in for a process's records.
 * Task ids are task addresses (a process's are qualified by its pid).
 */
struct px_trace_rec {
	uint64_t ts;
	uint8_t ev;             /* PX_TR_* */
	uint8_t hart;
	uint16_t x;             /* a small argument: cause, irq, flags */
	uint32_t pid;
	uint64_t a;             /* usually a task id or a user_data */
	uint64_t b;
};

/* SYS_trace_put(const struct px_trace_rec *recs, unsigned n) -> n, or
 * -PX_ENOSYS in a kernel built without tracing.  A process may hand over
 * only its executor's events (PX_TR_U added) and PX_TR_U_REAP, at most
 * PX_TRACE_PUT_MAX at once: otherwise -PX_EINVAL (-PX_EFAULT for memory
 * it cannot read), and none of the batch is kept. */
#define SYS_trace_put 64
#define PX_TRACE_PUT_MAX 256

/*
 * Events.  x/a/b per event; "task" is a task id.
 *
 * Executor (kernel and user alike; in user records the U_ bit is set):
 */
#define PX_TR_POLL_START   1   /* a task */
#define PX_TR_POLL_END     2   /* a task, x 1: Ready, 0: Pending */
#define PX_TR_WAKE         3   /* a task, x origin | PX_TR_BYREF, b origin's id */
#define PX_TR_ENQUEUE      4   /* a task, x where (PX_TR_Q_*), b worker */
#define PX_TR_STEAL        5   /* a first task stolen, x victim worker, b count */
#define PX_TR_PARK         6   /* b deadline (ns; all ones: none) */
#define PX_TR_UNPARK       7   /* x worker unparked */
#define PX_TR_SPAWN        8   /* a task, b first 8 bytes of its name, x next 2 */
#define PX_TR_TASK_DONE    9   /* a task, x 1: cancelled */
#define PX_TR_PARKED      10   /* park returned */
/* Kernel: */
#define PX_TR_TRAP_ENTER  16   /* x cause (PX_TR_CAUSE_*) */
#define PX_TR_TRAP_EXIT   17   /* x cause */
#define PX_TR_IRQ         18   /* x interrupt number claimed */
#define PX_TR_IPI_SEND    19   /* x target hart */
#define PX_TR_IPI_RECV    20
#define PX_TR_SYS_ENTER   21   /* x pid, a number, b task */
#define PX_TR_SYS_EXIT    22   /* x pid, a number, b result */
#define PX_TR_SQE         23   /* x pid, a user_data, b opcode */
#define PX_TR_CQE         24   /* x pid, a user_data, b result */
#define PX_TR_PROC_SPAWN  25   /* x pid, a its task, b first 8 bytes of its name */
#define PX_TR_PROC_EXIT   26   /* x pid, a its task, b status */
/* User library: */
#define PX_TR_U_REAP      32   /* a user_data of a CQE the reactor takes, b result */
#define PX_TR_U           64   /* added to an executor event a process recorded */

/* PX_TR_WAKE's origin, in x's low bits. */
#define PX_TR_FROM_TASK    0   /* the task being polled (b) */
#define PX_TR_FROM_TIMER   1   /* the timer wheel */
#define PX_TR_FROM_IRQ     2   /* an interrupt handler (b: PX_TR_CAUSE_* << 16 | irq) */
#define PX_TR_FROM_OUTSIDE 3   /* no worker and no interrupt (boot, another thread) */
#define PX_TR_FROM_CQE     4   /* user: the completion b (its user_data) */
#define PX_TR_BYREF     0x10   /* wake_by_ref (else wake, which consumes) */

/* PX_TR_ENQUEUE's where. */
#define PX_TR_Q_LOCAL   0
#define PX_TR_Q_LIFO    1
#define PX_TR_Q_INJECT  2
#define PX_TR_Q_PINNED  3
#define PX_TR_Q_DUE     4

/* PX_TR_TRAP_*'s cause. */
#define PX_TR_CAUSE_TIMER  0
#define PX_TR_CAUSE_DEVICE 1
#define PX_TR_CAUSE_IPI    2

#endif /* LIB_UAPI_PX_TRACE_H */
