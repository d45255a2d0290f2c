/* I/O futures: the one shape every file operation and waiting syscall completes in. */
#ifndef KERNEL_IO_H
#define KERNEL_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/future.h"
#include "executor/timer.h"

/*
 * Every operation the kernel runs on a program's behalf — a read of a
 * pipe, a write to the console, a sleep, a wait for a child, a ring_enter
 * — is a future with this header.  Its one output is `result`: a count of
 * bytes (or 0) on success, a negative PX_E* error on failure, exactly what
 * the syscall returns or the ring posts in the CQE.
 *
 * Both doors drive the same futures (docs/kernel.md, "One I/O layer"):
 *
 *   syscall:  the process keeps the future in its own slot (p->w) and a
 *             pointer to it (p->wait); the process task polls it until
 *             Ready, and drops it if the process is killed meanwhile (a
 *             busy one is cancelled instead: the process ends after it);
 *   ring:     each operation's task keeps the future in its slot
 *             (struct ring_op) and polls it; CANCEL and exit drop it (a
 *             busy one is cancelled and drained by its task).
 *
 * Rules for a future of this shape:
 *   - On Ready it has released everything it holds (wakers, waiter
 *     nodes, pages): nothing needs to be dropped after Ready.
 *   - Dropped before Ready it releases everything at once — unless it
 *     has set `busy`: then a device still owns memory of the future (a
 *     DMA buffer), or the future holds room in the file system's log and
 *     has changed cached blocks that must be committed together (a
 *     create, a write, a rename: kernel/fs/fs.h, "Cancellation").  Such a
 *     future is cancelled instead: the owner sets `cancelled` and keeps
 *     polling it to Ready.  A cancelled future finishes what it must
 *     (the device lets go; the file system's change completes, all or
 *     nothing, a write stopping after the chunk it is in) and starts
 *     nothing new.  Both doors do this: the ring for its BLK and file
 *     operations, the syscall door for a killed process, which ends only
 *     once the future is Ready (kernel/syscall.c, syscall_cancel).
 *   - It may be moved (copied) between its start and its first poll (a
 *     ring operation is started on the stack and copied into its task),
 *     never after.
 *   - It reaches user memory only through copyin/copyout (uaccess.h) at
 *     the moment it moves bytes, never through a pointer kept across a
 *     Pending: see "User memory" in docs/kernel.md.
 *   - A future that moves bytes in pieces and may wait between them (a
 *     pipe write waiting for room) keeps `result` at the bytes moved so
 *     far while Pending, so a ring op cancelled part way reports them
 *     instead of -PX_ECANCELED: those bytes went out.  Any other future
 *     leaves `result` <= 0 until Ready.
 */
struct io_future {
	struct future base;
	int64_t result; /* once Ready: >= 0 success, else -PX_E* */
	bool busy;      /* set by the future: a device owns part of it */
	bool cancelled; /* set by the owner of a busy future instead of a drop */
};

/* Storage for any one I/O future, in a process and in a ring operation.
 * Every future type that is started in a slot checks its size with
 * IO_SLOT_FITS. */
#define IO_SLOT_SIZE 256
union io_slot {
	struct io_future f;
	unsigned char bytes[IO_SLOT_SIZE];
	uint64_t align;  /* no future needs more than 8-byte alignment */
};
#define IO_SLOT_FITS(type) \
	_Static_assert(sizeof(type) <= IO_SLOT_SIZE, #type " must fit union io_slot")

static inline void io_future_init(struct io_future *f, const struct future_vtable *vt)
{
	f->base.vtable = vt;
	f->result = 0;
	f->busy = false;
	f->cancelled = false;
}

static inline enum poll io_poll(struct io_future *f, struct context *cx)
{
	return future_poll(&f->base, cx);
}

static inline void io_drop(struct io_future *f)
{
	future_drop(&f->base);
}

/* A sleep on the kernel's timer wheel, Ready with `result` after ns
 * nanoseconds (sleep(): 0; the ring's TIMEOUT: -PX_ETIME). */
struct io_sleep {
	struct io_future io;
	struct sleep nap;
};
void io_sleep_init(struct io_sleep *s, uint64_t ns, int64_t result);

/* Pending once (asking to be polled again at the back of the queue),
 * then Ready with 0: yield(). */
struct io_yield {
	struct io_future io;
	bool yielded;
};
void io_yield_init(struct io_yield *y);

#endif /* KERNEL_IO_H */
