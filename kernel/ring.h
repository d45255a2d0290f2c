/* Async syscall rings: ring_setup, ring_enter, operations as kernel tasks, teardown at exit. */
#ifndef KERNEL_RING_H
#define KERNEL_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/notify.h"
#include "executor/timer.h"
#include "kernel/io.h"

struct proc;
struct ring;

/*
 * One ring per process (p->ring).  The protocol the program sees is in
 * lib/uapi/pollux.h and docs/user.md ("Async rings"); the shared-memory
 * half (index checks, CQ posting, the overflow backlog) is
 * kernel/ring_queue.c.  This file adds the kernel side:
 *
 *   ring_enter ─► consume SQEs (ring lock) ─► NOP, CANCEL, bad SQEs:
 *                                              CQE posted inline
 *                                          ─► READ/WRITE: file_start, the
 *                                              file's own future (the one
 *                                              read()/write() would run)
 *                                          ─► TIMEOUT, BLK_*: an io_sleep,
 *                                              a raw disk transfer
 *                                          ─► each started in a task slot
 *                                              and polled once right there:
 *                                              Ready, ring_enter posts the
 *                                              CQE and no task is left;
 *                                              else a kernel task
 *   op task ─► polls its future ─► posts its CQE under the ring lock
 *                               ─► notify_all(cq_ready): wakes ring_enter
 *
 * Operation lifecycle (struct ring_op, inside its task; the future is an
 * io_future in op->io, kernel/io.h):
 *
 *   (1) ring_enter: reserve a completion (rq_reserve), take a slot of the
 *       ring's pool, start the future in the op there, take a file
 *       reference; op_spawn: count it in nops, a ring reference for the
 *       slot, and poll it once in ring_enter (task_spawn_polled; no
 *       begin/end: the process is in ring_enter, so nothing can cancel
 *       the op or kill the ring meanwhile).  Ready: ring_enter posts the
 *       CQE with its own (NOP, errors), the file reference goes, the slot
 *       comes back.  Pending: op_enlist takes a ring reference for the
 *       op and links it into r->ops; it is a kernel task now.
 *   (2) op poll: begin (ring lock: not cancelled, not dead; active++),
 *       poll the future (it may touch user memory), end (active--)
 *   (3) Ready: finish: post the CQE (unless the ring is dead), unlink,
 *       drop the ring reference; drop the file reference
 *   (4) CANCEL or exit: under the ring lock mark op->cancel and wake its
 *       task; its next poll finishes with -PX_ECANCELED (no CQE if the
 *       ring is dead) and drops the future
 *   (5) cancelled while the future is busy (a disk request the device
 *       still owns: io_future.busy): finish (CQE) at once, mark the
 *       future cancelled, keep polling it until the device answers; it
 *       then frees its bounce page and touches nothing else.  No DMA into
 *       freed memory, no wait in exit.
 *
 * Teardown (proc_exit, before the user memory is freed): mark the ring
 * dead, cancel every op, wait (spin, bounded: no poll waits inside) until
 * no op is between begin and end, drop the process's reference.  From
 * then on no op touches user memory or the shared ring pages; the struct
 * ring and its backlog go with the last reference.
 */

/* ring_enter's wait (a member of union sys_wait): completions raced
 * against a timeout.  io.result: the syscall's result once Ready. */
struct ring_wait {
	struct io_future io;
	struct ring *r;
	uint32_t min;
	uint8_t armed;          /* `ready` is initialised */
	uint8_t timed;          /* the wait ends at `deadline` */
	uint8_t zero;           /* timeout 0: look once, never wait */
	struct notified ready;
	uint64_t deadline;      /* ns; the ring's timer says when (ring.c) */
};

/* SYS_ring_setup: 0 or -errno. */
int64_t ring_setup(struct proc *p, uint64_t entries, uint64_t params_va);

/* SYS_ring_enter, first half: flush, check, consume up to to_submit SQEs.
 * Returns the number consumed or -errno; *ready: CQEs ready afterwards
 * (so a NOP round trip needs no wait at all). */
int64_t ring_submit(struct proc *p, uint64_t to_submit, uint32_t *ready);

/* Second half, when min_complete > 0: a future, ready with io.result =
 * `consumed` once min CQEs are ready or timeout_ns passed; -PX_EINVAL if
 * the ring turns out corrupt while waiting. */
void ring_wait_init(struct ring_wait *w, struct proc *p, uint32_t min, uint64_t timeout_ns,
		    int64_t consumed);

/* proc_exit: cancel everything in flight; afterwards nothing touches the
 * process's memory.  Safe without a ring. */
void ring_teardown(struct proc *p);

/* For tests: ring operations (tasks) alive system-wide, and rings alive. */
unsigned ring_ops_live(void);
unsigned ring_rings_live(void);

#endif /* KERNEL_RING_H */
