/* Async syscall rings: ring_setup, ring_enter, operations as kernel tasks, teardown at exit. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/file.h"
#include "kernel/fs/fs_file.h"
#include "kernel/fsys.h"
#include "kernel/kalloc.h"
#include "kernel/net/tcp_sock.h"
#include "kernel/net/udp_sock.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"
#include "kernel/proc.h"
#include "kernel/ring.h"
#include "kernel/ring_queue.h"
#include "kernel/trace.h"
#include "kernel/uaccess.h"
#include "kernel/virtio_blk.h"

/* Operations one ring may have in flight as tasks: RING_OPS_MAX, and
 * never more than the CQ's entries, half the completions the backlog can
 * promise (struct rq's owed), so the other half is always there for
 * completions made inside ring_enter, CANCEL's among them: a program can
 * always cancel.  More get -PX_EAGAIN. */
#define RING_OPS_MAX 2048

/* The future of one operation's task: ring bookkeeping around the one
 * I/O future (kernel/io.h) that does the work.  Its task lives in a slot
 * of its ring's own pool. */
struct ring_op {
	struct future base;
	struct ring *r;          /* NULL once finished */
	struct ring_op *next, *prev;  /* r->ops, under the ring lock */
	uint64_t user_data;
	struct file *file;       /* a reference while the op runs, or NULL */
	uint8_t linked;          /* in r->ops (ring lock) */
	uint8_t cancel;          /* CANCEL or teardown asked (ring lock) */
	uint8_t draining;        /* finished, but the future is busy: poll it out */
	int64_t *now;            /* until the first poll (op_spawn, inside
	                            ring_enter): where its result goes if Ready */
	union io_slot io;
};

/*
 * Each ring's operations run in task slots of its own, carved at
 * ring_setup out of pages the ring owns, the way Tock charges a process
 * for the kernel memory its grants use: no ring ever takes a slot another
 * ring (or the rest of the kernel) needs, so one process's load never
 * makes another's operations fail, and once ring_setup succeeded an
 * operation within ops_max always finds a slot.  A slot goes back when
 * its task's memory is freed, a moment after the op posted its CQE (on
 * another hart, perhaps after the program saw the CQE and submitted
 * again): RING_SLOTS_SPARE slots beyond ops_max cover that.  Each slot
 * that holds a task holds a reference on the ring, so the pages outlive
 * every task carved from them.
 *
 * Only ring_enter (the process, one hart at a time) takes slots: it
 * starts an op's future right in a slot, so the op is never copied.  It
 * owns `free` without a lock.  A task's memory may be freed on any hart,
 * also from an interrupt handler dropping the last waker: pool_free
 * pushes the slot on `returned` with a CAS, and ring_enter takes that
 * list whole (an exchange) when `free` runs dry.  One taker and pushes
 * only: no ABA.
 */
#define RING_OP_SLOT TASK_SIZE(sizeof(struct ring_op))
#define RING_SLOTS_PER_PAGE (PAGE_SIZE / RING_OP_SLOT)
#define RING_SLOTS_SPARE SMP_MAX
#define RING_POOL_PAGES_MAX \
	((RING_OPS_MAX + RING_SLOTS_SPARE + RING_SLOTS_PER_PAGE - 1) / RING_SLOTS_PER_PAGE)

struct ring_pool {
	struct task_src src;     /* first: the ring's tasks come from here */
	struct ring *r;
	void *free;              /* free slots, linked through their first
	                            word: ring_enter's own */
	void *_Atomic returned;  /* freed slots, pushed by pool_free */
	unsigned npages, cap;
	void **pages;            /* cap entries: kmalloc'd, or a page when larger */
};
_Static_assert(RING_POOL_PAGES_MAX * sizeof(void *) <= PAGE_SIZE, "pool page list too big");

static void **pool_list_alloc(unsigned cap)
{
	size_t bytes = cap * sizeof(void *);
	return bytes <= KMALLOC_MAX ? kmalloc(bytes) : kpage_alloc();
}

static void pool_list_free(void **list, unsigned cap)
{
	size_t bytes = cap * sizeof(void *);
	if (bytes <= KMALLOC_MAX)
		kfree(list, bytes);
	else if (list)
		kpage_free(list);
}

/* Lock order: ring lock, then (never the other way) notify, pipe, blk
 * and executor locks; no waker is woken with the ring lock held. */
struct ring {
	struct spin lock;
	bool dead;               /* the process is gone: post nothing */
	atomic_uint refs;        /* the process, each op until it finishes, and
	                            each pool slot holding a task's memory */
	unsigned active;         /* ops between op_begin and op_end */
	atomic_uint nops;        /* ops spawned and not finished (only
	                            ring_enter adds) */
	unsigned ops_max;        /* the most nops may be */
	struct ring_op *ops;     /* linked ops (for CANCEL and teardown) */
	const struct vm_root *vm;
	struct rsq sq;
	struct rq cq;
	struct notify cq_ready;  /* notify_all after each post by an op */
	/* ring_enter's timeout on the kernel wheel, kept across calls (see
	 * nap_poll).  Only the owning process's task touches it: ring_enter
	 * polls it, ring_teardown cancels it. */
	struct timer_entry nap;
	uint64_t nap_at;         /* the deadline (ns) nap was polled with,
	                            while nap.polled */
	struct waker nap_whom;   /* a copy, not a reference: names the waker
	                            nap was last left pending with */
	struct px_cqe *bl[RQ_BL_PAGES];
	unsigned nbl;
	struct ring_pool pool;   /* free list under the ring lock */
};

static atomic_uint ops_live, rings_live;

unsigned ring_ops_live(void)
{
	return atomic_load(&ops_live);
}

unsigned ring_rings_live(void)
{
	return atomic_load(&rings_live);
}

static void ring_free(struct ring *r)
{
	for (unsigned i = 0; i < r->nbl; i++)
		kpage_free(r->bl[i]);
	for (unsigned i = 0; i < r->pool.npages; i++)
		kpage_free(r->pool.pages[i]);
	pool_list_free(r->pool.pages, r->pool.cap);
	kfree(r, sizeof(*r));
	atomic_fetch_sub(&rings_live, 1);
}

/* Drop one reference; the last frees the ring.  Any context. */
static void ring_unref(struct ring *r)
{
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		ring_free(r);
}

/* The ring's task source.  Its tasks never come through alloc: op_start
 * starts each op in a slot it takes itself (slot_take). */
static void *pool_alloc(struct task_src *src, size_t size)
{
	(void)src;
	(void)size;
	return NULL;
}

/* A task's memory goes back (any hart, any context). */
static void pool_free(struct task_src *src, void *slot, size_t size)
{
	struct ring_pool *pl = (struct ring_pool *)src;
	struct ring *r = pl->r;
	(void)size;
	void *head = atomic_load_explicit(&pl->returned, memory_order_relaxed);
	do
		*(void **)slot = head;
	while (!atomic_compare_exchange_weak_explicit(&pl->returned, &head, slot,
						      memory_order_release,
						      memory_order_relaxed));
	ring_unref(r);
}

/* A free slot for an op, or NULL.  Caller: ring_enter (the process). */
static void *slot_take(struct ring *r)
{
	struct ring_pool *pl = &r->pool;
	void *slot = pl->free;
	if (!slot) {
		slot = atomic_exchange_explicit(&pl->returned, NULL, memory_order_acquire);
		if (!slot)
			return NULL;
	}
	pl->free = *(void **)slot;
	return slot;
}

/* A slot taken by slot_take and not used. */
static void slot_put(struct ring *r, void *slot)
{
	*(void **)slot = r->pool.free;
	r->pool.free = slot;
}

/* Carve `slots` task slots out of fresh pages; -PX_ENOMEM (the pages got
 * so far stay in pl->pages for ring_free). */
static int pool_init(struct ring *r, unsigned slots)
{
	struct ring_pool *pl = &r->pool;
	pl->src = (struct task_src){ pool_alloc, pool_free };
	pl->r = r;
	pl->free = NULL;
	atomic_init(&pl->returned, NULL);
	pl->cap = (slots + RING_SLOTS_PER_PAGE - 1) / RING_SLOTS_PER_PAGE;
	pl->pages = pool_list_alloc(pl->cap);
	if (!pl->pages) {
		pl->cap = 0;
		return -PX_ENOMEM;
	}
	for (unsigned made = 0; made < slots; pl->npages++) {
		unsigned char *pg = kpage_alloc();
		if (!pg)
			return -PX_ENOMEM;
		pl->pages[pl->npages] = pg;
		for (unsigned i = 0; i < RING_SLOTS_PER_PAGE && made < slots; i++, made++) {
			void *slot = pg + i * RING_OP_SLOT;
			*(void **)slot = pl->free;
			pl->free = slot;
		}
	}
	return 0;
}

/* ---- ring_setup ----------------------------------------------------------*/

static void unmap_free(struct vm_root *vm, uint64_t va, unsigned pages)
{
	for (unsigned i = 0; i < pages; i++) {
		uint64_t pa = arch_vm_unmap(vm, va + (uint64_t)i * PAGE_SIZE);
		if (pa)
			kpage_free((void *)(uintptr_t)pa);
	}
}

/* Map `n` fresh zeroed frames at va, noting them in pages[]. */
static int map_pages(struct vm_root *vm, uint64_t va, void *pages[], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		void *pg = kpage_alloc();
		if (!pg || arch_vm_map(vm, va + (uint64_t)i * PAGE_SIZE, (uintptr_t)pg,
				       VM_R | VM_W | VM_U)) {
			kpage_free(pg);
			unmap_free(vm, va, i);
			return -PX_ENOMEM;
		}
		pages[i] = pg;
	}
	return 0;
}

int64_t ring_setup(struct proc *p, uint64_t entries, uint64_t params_va)
{
	struct px_ring_params params;
	void *sqp[RQ_MAX_PAGES], *cqp[RQ_MAX_PAGES];
	/* LAB 7 BEGIN */
	/* LAB 7 STUB
	// LAB 7: without ring_submit and the SQ/CQ halves a ring would only
	// hang the program that uses it, so none is set up: programs fall
	// back to plain syscalls.  Delete this stub once your ring works
	// (docs/labs/lab7.md).
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement ring_submit (kernel/ring.c) and the SQ/CQ halves "
		       "(kernel/ring_queue.c), then remove the stub in ring_setup\n");
	}
	(void)p;
	(void)entries;
	(void)params_va;
	return -PX_ENOSYS;
	   LAB 7 END */
	if (entries == 0 || entries > PX_RING_MAX || (entries & (entries - 1)))
		return -PX_EINVAL;
	if (!uaccess_ok(p->vm, params_va, sizeof(params), VM_W))
		return -PX_EFAULT;
	if (p->ring)
		return -PX_EBUSY;

	uint32_t e = (uint32_t)entries;
	unsigned nsq = rq_pages(rq_sq_bytes(e)), ncq = rq_pages(rq_cq_bytes(e));
	uint32_t bl_cap = 2 * (2 * e);
	uint64_t sq_va = PX_RING_BASE, cq_va = PX_RING_BASE + (uint64_t)nsq * PAGE_SIZE;
	_Static_assert(2 * RQ_MAX_PAGES <= PX_RING_PAGES, "ring area too small");

	struct ring *r = kmalloc(sizeof(*r));
	if (!r)
		return -PX_ENOMEM;
	r->nbl = (bl_cap + RQ_BL_PER_PAGE - 1) / RQ_BL_PER_PAGE;
	for (unsigned i = 0; i < r->nbl; i++) {
		r->bl[i] = kpage_alloc();
		if (!r->bl[i]) {
			r->nbl = i;
			atomic_fetch_add(&rings_live, 1);
			ring_free(r);
			return -PX_ENOMEM;
		}
	}
	atomic_fetch_add(&rings_live, 1);
	r->ops_max = 2 * e < RING_OPS_MAX ? 2 * e : RING_OPS_MAX;
	if (pool_init(r, r->ops_max + RING_SLOTS_SPARE)) {
		ring_free(r);
		return -PX_ENOMEM;
	}
	if (map_pages(p->vm, sq_va, sqp, nsq)) {
		ring_free(r);
		return -PX_ENOMEM;
	}
	if (map_pages(p->vm, cq_va, cqp, ncq)) {
		unmap_free(p->vm, sq_va, nsq);
		ring_free(r);
		return -PX_ENOMEM;
	}
	spin_init(&r->lock);
	atomic_init(&r->refs, 1);
	r->vm = p->vm;
	notify_init(&r->cq_ready);
	timer_entry_init(&r->nap);
	r->nap_whom = WAKER_NONE;
	rsq_init(&r->sq, sqp, e);
	rq_init(&r->cq, cqp, e, r->bl, bl_cap);

	params = (struct px_ring_params){ .sq_entries = e, .cq_entries = 2 * e,
					  .sq_va = sq_va, .cq_va = cq_va,
					  .ops_max = r->ops_max };
	copyout(p->vm, params_va, &params, sizeof(params)); /* checked above */
	p->ring = r;
	return 0;
}

/* ---- operations ------------------------------------------------------------*/


static struct task *task_of(struct ring_op *op)
{
	return (struct task *)(void *)((unsigned char *)op - TASK_CORE_OFF);
}

/* Enter a stretch that may touch user memory; false if cancelled. */
static bool op_begin(struct ring_op *op)
{
	struct ring *r = op->r;
	unsigned long f = spin_lock(&r->lock);
	bool ok = !r->dead && !op->cancel;
	r->active += ok;
	spin_unlock(&r->lock, f);
	return ok;
}

static void op_end(struct ring_op *op)
{
	struct ring *r = op->r;
	unsigned long f = spin_lock(&r->lock);
	r->active--;
	spin_unlock(&r->lock, f);
}

/* Post the CQE (unless the process is gone), leave the ring.  ended:
 * the op was between op_begin and op_end: end it here, under the same
 * lock hold (the post is in shared ring pages, so it too must come
 * before teardown sees no op active). */
static void op_finish(struct ring_op *op, int64_t res, bool ended)
{
	struct ring *r = op->r;
	unsigned long f = spin_lock(&r->lock);
	r->active -= ended;
	bool post = !r->dead;
	if (post) {
		KTR(PX_TR_CQE, 0, op->user_data, res);	/* pid: its SQE's */
		rq_post(&r->cq, op->user_data, res);
	}
	if (op->linked) {
		if (op->prev)
			op->prev->next = op->next;
		else
			r->ops = op->next;
		if (op->next)
			op->next->prev = op->prev;
		op->linked = 0;
	}
	atomic_fetch_sub_explicit(&r->nops, 1, memory_order_relaxed);
	/* Never the last reference: the op's task slot holds one too. */
	atomic_fetch_sub_explicit(&r->refs, 1, memory_order_release);
	spin_unlock(&r->lock, f);
	if (post)
		notify_all(&r->cq_ready);
	op->r = NULL;
}

/* The task completes: the file goes, one op fewer alive. */
static enum poll op_gone(struct ring_op *op)
{
	file_put(op->file);
	op->file = NULL;
	atomic_fetch_sub(&ops_live, 1);
	return POLL_READY;
}

/* The op waits after its first poll: from now on it is a task, in
 * r->ops for CANCEL and teardown, with its own ring reference.  Its
 * task is RUNNING (we are in its poll), so nobody else touches it. */
static void op_enlist(struct ring_op *op)
{
	struct ring *r = op->r;
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	unsigned long f = spin_lock(&r->lock);
	op->prev = NULL;
	op->next = r->ops;
	if (r->ops)
		r->ops->prev = op;
	r->ops = op;
	op->linked = 1;
	spin_unlock(&r->lock, f);
}

static enum poll op_poll(struct future *f, struct context *cx)
{
	struct ring_op *op = (struct ring_op *)f;

	if (op->draining)
		goto drain;
	if (op->now) {
		/* The first poll, inside ring_enter (op_spawn): the process
		 * is there, so the ring is not dead and nothing cancelled
		 * the op (no begin/end needed). */
		int64_t *now = op->now;
		op->now = NULL;
		if (io_poll(&op->io.f, cx) == POLL_READY) {
			/* ring_enter posts the CQE, as a NOP's: no lock here,
			 * and nobody to notify (only the process's own
			 * ring_enter waits on cq_ready). */
			*now = op->io.f.result;
			atomic_fetch_sub_explicit(&op->r->nops, 1, memory_order_relaxed);
			op->r = NULL;
			return op_gone(op);
		}
		op_enlist(op);
		return POLL_PENDING;
	}
	if (!op_begin(op)) {
		/* (4) cancelled, or the process is gone.  A write cut short
		 * reports what it moved (kernel/io.h): those bytes went out. */
		op_finish(op, op->io.f.result > 0 ? op->io.f.result : -PX_ECANCELED, false);
		if (!op->io.f.busy) {
			io_drop(&op->io.f);
			return op_gone(op);
		}
		/* (5) a device owns part of the future: poll it out. */
		op->io.f.cancelled = true;
		op->draining = 1;
		goto drain;
	}
	if (io_poll(&op->io.f, cx) == POLL_PENDING) {
		op_end(op);
		return POLL_PENDING;
	}
	op_finish(op, op->io.f.result, true);
	return op_gone(op);

drain:
	if (io_poll(&op->io.f, cx) == POLL_PENDING)
		return POLL_PENDING;
	return op_gone(op);
}

/* Executor shutdown only: nothing will poll us again.  A busy future is
 * leaked rather than freed under the device. */
static void op_drop(struct future *f)
{
	struct ring_op *op = (struct ring_op *)f;
	if (op->r)
		op_finish(op, -PX_ECANCELED, false);
	if (!op->io.f.busy)
		io_drop(&op->io.f);
	op_gone(op);
}

static const struct future_vtable op_vtable = { op_poll, op_drop };

/* Mark the linked op with user_data `target` cancelled and wake it. */
static int64_t op_cancel(struct ring *r, uint64_t target)
{
	unsigned long f = spin_lock(&r->lock);
	struct ring_op *op = r->ops;
	while (op && (op->user_data != target || op->cancel))
		op = op->next;
	struct task *t = NULL;
	if (op) {
		op->cancel = 1;
		t = task_of(op);
		task_ref(t); /* linked: the task is alive while we hold the lock */
	}
	spin_unlock(&r->lock, f);
	if (!t)
		return -PX_ENOENT;
	task_wake_by_ref(t);
	task_unref(t);
	return 0;
}

static const struct task_desc op_desc = {
	"ring-op", NULL, sizeof(struct ring_op), 0, 0, 0 };

static struct ring_op *op_in(void *slot)
{
	return (struct ring_op *)(void *)((unsigned char *)slot + TASK_CORE_OFF);
}

/*
 * Give the op started in `slot` a task and poll it once right here
 * (task_spawn_polled): an op whose future is Ready at once leaves its
 * result in *res for ring_enter to post, and its slot goes straight
 * back, with no lock and no trip through a run queue; one that must
 * wait is a task from then on (op_enlist).  SPAWN_FULL (nothing taken,
 * the slot still the caller's) if the ring has its ops_max in flight.
 * Only ring_enter adds to nops, so the check and the add cannot race.
 */
enum op_spawned { SPAWN_FULL, SPAWN_TASK, SPAWN_DONE };

static enum op_spawned op_spawn(struct ring *r, void *slot, int64_t *res)
{
	struct ring_op *op = op_in(slot);
	if (atomic_fetch_add_explicit(&r->nops, 1, memory_order_relaxed) >= r->ops_max) {
		atomic_fetch_sub_explicit(&r->nops, 1, memory_order_relaxed);
		return SPAWN_FULL;
	}
	op->r = r;
	op->now = res;
	/* The slot's reference, which pool_free drops. */
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	atomic_fetch_add(&ops_live, 1);
	return task_spawn_polled(&kernel_exec, &r->pool.src, slot, &op_desc) == POLL_PENDING
		       ? SPAWN_TASK : SPAWN_DONE;
}

/*
 * BLK_READ / BLK_WRITE: raw sectors of the disk, a page at a time through
 * a bounce page (the device reads and writes physical memory; a program's
 * pages are copied with copyin/copyout like every other transfer).  While
 * the device owns the bounce page the future is `busy`: a cancelled op
 * completes at once but keeps polling until the device answers, so
 * nothing is ever written into a freed page.
 */
enum blk_step { BLK_START, BLK_IO };

struct blk_io {
	struct io_future io;
	const struct vm_root *vm;
	char *bounce;
	uint64_t va, sector;
	uint32_t len, done;
	uint8_t write, step;
	struct blk_req req;
};
IO_SLOT_FITS(struct blk_io);

static int64_t blk_errno(int err)
{
	switch (err) {
	case BLK_ERANGE: return -PX_ERANGE;
	case BLK_EINVAL: return -PX_EINVAL;
	case BLK_ENODEV: return -PX_ENODEV;
	default: return -PX_EIO;
	}
}

/* Ready with res: the bounce page goes back. */
static enum poll blk_io_ready(struct blk_io *b, int64_t res)
{
	kpage_free(b->bounce);
	b->bounce = NULL;
	b->io.busy = false;
	b->io.result = res;
	return POLL_READY;
}

static enum poll blk_io_poll(struct future *f, struct context *cx)
{
	struct blk_io *b = (struct blk_io *)f;
	for (;;) {
		uint32_t chunk = b->len - b->done < PAGE_SIZE ? b->len - b->done : PAGE_SIZE;
		if (b->step == BLK_START) {
			uint64_t sector = b->sector + b->done / BLK_SECTOR_SIZE;
			if (b->write) {
				if (copyin(b->vm, b->bounce, b->va + b->done, chunk))
					return blk_io_ready(b, -PX_EFAULT);
				blk_write_init(&b->req, sector, b->bounce, chunk / BLK_SECTOR_SIZE);
			} else {
				blk_read_init(&b->req, sector, b->bounce, chunk / BLK_SECTOR_SIZE);
			}
			b->step = BLK_IO;
		}
		enum poll p = blk_req_poll(&b->req, cx);
		b->io.busy = b->req.state == BLK_REQ_INFLIGHT;
		if (p == POLL_PENDING)
			return POLL_PENDING;
		b->step = BLK_START;
		if (b->io.cancelled)
			return blk_io_ready(b, -PX_ECANCELED);
		if (b->req.result)
			return blk_io_ready(b, blk_errno(b->req.result));
		if (!b->write && copyout(b->vm, b->va + b->done, b->bounce, chunk))
			return blk_io_ready(b, -PX_EFAULT);
		b->done += chunk;
		if (b->done == b->len)
			return blk_io_ready(b, b->len);
	}
}

/* Never called while busy (the request is not in flight). */
static void blk_io_drop(struct future *f)
{
	struct blk_io *b = (struct blk_io *)f;
	if (b->step == BLK_IO)
		blk_req_drop(&b->req);
	kpage_free(b->bounce);
	b->bounce = NULL;
}

static const struct future_vtable blk_io_vtable = { blk_io_poll, blk_io_drop };

static int64_t blk_io_start(const struct vm_root *vm, bool write, uint64_t sector,
			    uint64_t va, uint32_t len, union io_slot *slot)
{
	uint64_t cap = blk_capacity(), count = len / BLK_SECTOR_SIZE;
	if (len == 0 || len % BLK_SECTOR_SIZE || count > BLK_MAX_SECTORS)
		return -PX_EINVAL;
	if (cap == 0)
		return -PX_ENODEV;
	/* Raw writes under a mounted file system would corrupt it. */
	if (write && fsys_fs())
		return -PX_EBUSY;
	if (sector >= cap || count > cap - sector)
		return -PX_ERANGE;
	if (!uaccess_ok(vm, va, len, write ? VM_R : VM_W))
		return -PX_EFAULT;
	struct blk_io *b = (struct blk_io *)slot;
	*b = (struct blk_io){ .io = { .base = { &blk_io_vtable } }, .vm = vm, .va = va,
			      .sector = sector, .len = len, .write = write, .step = BLK_START };
	b->bounce = kpage_alloc();
	return b->bounce ? IO_STARTED : -PX_ENOMEM;
}

/* READ, WRITE, FSTAT, FSYNC, GETDENTS, FTRUNCATE: the file's own future,
 * the same one read(), write(), fstat(), ... wait for (kernel/file.h).
 * IO_STARTED, or the result to post now. */
static int64_t op_file(struct proc *p, const struct px_sqe *s, struct ring_op *op)
{
	struct file *f = s->fd >= 0 ? proc_fd(p, (uint64_t)s->fd) : NULL;
	if (!f)
		return -PX_EBADF;
	/* Files that cannot seek ignore the offset (io_uring does the same). */
	struct io_req rq = { .file = f, .vm = p->vm, .va = s->addr, .len = s->len,
			     .off = f->ops->seekable ? s->off : PX_OFF_CUR };
	int64_t r;
	switch (s->op) {
	case PX_OP_READ:
		r = file_start(IO_READ, &rq, &op->io);
		break;
	case PX_OP_WRITE:
		r = file_start(IO_WRITE, &rq, &op->io);
		break;
	case PX_OP_FSTAT:
		rq.off = PX_OFF_CUR;
		r = file_start(IO_STAT, &rq, &op->io);
		break;
	case PX_OP_FSYNC:
		rq.off = PX_OFF_CUR;
		r = file_start(IO_FSYNC, &rq, &op->io);
		break;
	case PX_OP_GETDENTS:
		if (s->len > 0 && !uaccess_ok(p->vm, s->addr, s->len, VM_W))
			return -PX_EFAULT;
		rq.off = s->off;
		r = fs_file_getdents(&rq, &op->io);
		break;
	default: /* PX_OP_FTRUNCATE */
		rq.off = s->off;
		r = fs_file_truncate(&rq, &op->io);
		break;
	}
	if (r == IO_STARTED)
		op->file = file_dup(f);
	return r;
}

/* OPENAT, STAT, MKDIR, UNLINK, RMDIR, RENAME, LINK: the path calls'
 * futures (kernel/fsys.c).  The paths are copied here, while the SQE is
 * consumed, and again by the file system when the operation starts. */
static int64_t op_path(struct proc *p, const struct px_sqe *s, struct ring_op *op)
{
	char path[PX_FS_PATH_MAX], path2[PX_FS_PATH_MAX];
	int n = copyinstr(p->vm, path, s->addr, sizeof(path));
	if (n < 0)
		return n == -PX_E2BIG ? -PX_ENAMETOOLONG : n;
	if (s->op == PX_OP_RENAME || s->op == PX_OP_LINK) {
		n = copyinstr(p->vm, path2, s->off, sizeof(path2));
		if (n < 0)
			return n == -PX_E2BIG ? -PX_ENAMETOOLONG : n;
	}
	switch (s->op) {
	case PX_OP_OPENAT: return fsys_open(&op->io, p, path, (int)s->len);
	case PX_OP_STAT: return fsys_stat(&op->io, p, path, p->vm, s->off);
	case PX_OP_MKDIR: return fsys_change(&op->io, p, FSYS_MKDIR, path, NULL);
	case PX_OP_UNLINK: return fsys_change(&op->io, p, FSYS_UNLINK, path, NULL);
	case PX_OP_RMDIR: return fsys_change(&op->io, p, FSYS_RMDIR, path, NULL);
	case PX_OP_RENAME: return fsys_change(&op->io, p, FSYS_RENAME, path, path2);
	default: return fsys_change(&op->io, p, FSYS_LINK, path, path2);
	}
}

/* ACCEPT, CONNECT, RECV, SEND: a TCP socket's futures, the ones accept(),
 * connect(), recv() and send() wait for (kernel/net/tcp_sock.c).
 * CONNECT's address is read here, while the SQE is consumed. */
static int64_t op_sock(struct proc *p, const struct px_sqe *s, struct ring_op *op)
{
	struct file *f = s->fd >= 0 ? proc_fd(p, (uint64_t)s->fd) : NULL;
	struct px_sockaddr_in a;
	int64_t r;
	if (!f)
		return -PX_EBADF;
	if (!tcp_sock_is(f))
		return udp_sock_is(f) ? -PX_EOPNOTSUPP : -PX_ENOTSOCK;
	switch (s->op) {
	case PX_OP_ACCEPT:
		r = tcp_sock_accept(f, p, s->addr, &op->io);
		break;
	case PX_OP_CONNECT:
		if (copyin(p->vm, &a, s->addr, sizeof(a)) != 0)
			return -PX_EFAULT;
		if (a.family != PX_AF_INET)
			return -PX_EAFNOSUPPORT;
		r = tcp_sock_connect(f, a.addr, a.port, &op->io);
		break;
	case PX_OP_RECV:
		if (s->len == 0)
			return 0;
		if (!uaccess_ok(p->vm, s->addr, s->len, VM_W))
			return -PX_EFAULT;
		r = tcp_sock_recv(f, p->vm, s->addr, s->len, 0, &op->io);
		break;
	default: /* PX_OP_SEND */
		r = tcp_sock_send(f, p->vm, s->addr, s->len, &op->io);
		break;
	}
	if (r == IO_STARTED)
		op->file = file_dup(f);
	return r;
}

/*
 * Validate one SQE and start it.  Returns true if a task now owns the
 * completion; false with *res the completion to post at once (NOP, CANCEL,
 * every validation error, zero-length I/O).
 */
static bool op_start(struct proc *p, struct ring *r, const struct px_sqe *s, int64_t *res)
{
	*res = -PX_EINVAL;
	if (s->flags)
		return false;
	switch (s->op) {
	case PX_OP_NOP:
		*res = 0;
		return false;
	case PX_OP_CANCEL:
		*res = op_cancel(r, s->addr);
		return false;
	case PX_OP_CLOSE:
		*res = proc_fd_close(p, (uint64_t)(int64_t)s->fd);
		return false;
	case PX_OP_READ: case PX_OP_WRITE: case PX_OP_FSTAT: case PX_OP_FSYNC:
	case PX_OP_GETDENTS: case PX_OP_FTRUNCATE:
	case PX_OP_OPENAT: case PX_OP_STAT: case PX_OP_MKDIR: case PX_OP_UNLINK:
	case PX_OP_RMDIR: case PX_OP_RENAME: case PX_OP_LINK:
	case PX_OP_ACCEPT: case PX_OP_CONNECT: case PX_OP_RECV: case PX_OP_SEND:
	case PX_OP_TIMEOUT: case PX_OP_BLK_READ: case PX_OP_BLK_WRITE:
		break;
	default:
		return false;
	}

	/* Start the future right in a task slot.  With none free (every
	 * one held by a task), on the stack: it is validated as usual,
	 * and if it starts, refused below. */
	struct ring_op spare;
	void *slot = slot_take(r);
	struct ring_op *op = slot ? op_in(slot) : &spare;
	/* The io slot is left for the start to fill (ops that start
	 * nothing never read it). */
	op->base.vtable = &op_vtable;
	op->r = NULL;
	op->next = op->prev = NULL;
	op->user_data = s->user_data;
	op->file = NULL;
	op->linked = op->cancel = op->draining = 0;
	op->now = NULL;

	switch (s->op) {
	case PX_OP_READ:
	case PX_OP_WRITE:
	case PX_OP_FSTAT:
	case PX_OP_FSYNC:
	case PX_OP_GETDENTS:
	case PX_OP_FTRUNCATE:
		*res = op_file(p, s, op);
		break;
	case PX_OP_OPENAT:
	case PX_OP_STAT:
	case PX_OP_MKDIR:
	case PX_OP_UNLINK:
	case PX_OP_RMDIR:
	case PX_OP_RENAME:
	case PX_OP_LINK:
		*res = op_path(p, s, op);
		break;
	case PX_OP_ACCEPT:
	case PX_OP_CONNECT:
	case PX_OP_RECV:
	case PX_OP_SEND:
		*res = op_sock(p, s, op);
		break;
	case PX_OP_TIMEOUT:
		io_sleep_init((struct io_sleep *)&op->io, s->off, -PX_ETIME);
		*res = IO_STARTED;
		break;
	default: /* PX_OP_BLK_READ, PX_OP_BLK_WRITE */
		*res = blk_io_start(p->vm, s->op == PX_OP_BLK_WRITE, s->off, s->addr, s->len,
				    &op->io);
		break;
	}
	if (*res == IO_STARTED && slot) {
		switch (op_spawn(r, slot, res)) {
		case SPAWN_TASK:
			return true;
		case SPAWN_DONE:
			return false;	/* *res: its result */
		case SPAWN_FULL:
			break;
		}
	}
	if (*res == IO_STARTED) {
		/* Not started: undo what the start took. */
		io_drop(&op->io.f);
		file_put(op->file);
		*res = -PX_EAGAIN;
	}
	if (slot)
		slot_put(r, slot);
	return false;
}

/* ---- ring_enter ------------------------------------------------------------*/

int64_t ring_submit(struct proc *p, uint64_t to_submit, uint32_t *ready_out)
{
	/* LAB 7 BEGIN */
	struct ring *r = p->ring;
	struct px_sqe sqe;
	int64_t res = 0;
	bool post = false;
	uint64_t consumed = 0;

	if (!r)
		return -PX_EBADF;
	unsigned long f = spin_lock(&r->lock);
	int64_t ready = rq_enter_check(&r->cq);
	int64_t avail = ready < 0 ? ready : rsq_available(&r->sq);
	if (avail < 0) {
		spin_unlock(&r->lock, f);
		return -PX_EINVAL;
	}
	uint64_t n = (uint64_t)avail < to_submit ? (uint64_t)avail : to_submit;
	for (;;) {
		if (post) {
			KTR(PX_TR_CQE, p->pid, sqe.user_data, res);
			rq_add(&r->cq, sqe.user_data, res);
			post = false;
		}
		if (consumed == n || !rq_reserve(&r->cq))
			break;
		rsq_take(&r->sq, &sqe);
		KTR(PX_TR_SQE, p->pid, sqe.user_data, sqe.op);
		consumed++;
		if (sqe.op == PX_OP_NOP && !sqe.flags) {
			/* The fast path: completed inline, under the one lock. */
			res = 0;
			post = true;
			continue;
		}
		spin_unlock(&r->lock, f);
		post = !op_start(p, r, &sqe, &res);
		f = spin_lock(&r->lock);
	}
	rq_publish(&r->cq);
	rsq_publish(&r->sq);
	int64_t now_ready = rq_ready(&r->cq);
	*ready_out = now_ready < 0 ? 0 : (uint32_t)now_ready;
	spin_unlock(&r->lock, f);
	if (consumed == 0 && n > 0)
		return -PX_EBUSY; /* the backlog is full: drain the CQ first */
	return (int64_t)consumed;
	/* LAB 7 STUB
	// LAB 7: consume up to to_submit SQEs and post their completions
	// (docs/labs/lab7.md).  Unreachable until ring_setup's stub goes.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement ring_submit (kernel/ring.c)\n");
	}
	(void)p;
	(void)to_submit;
	(void)op_start; // what each SQE other than a NOP goes through
	*ready_out = 0;
	return -PX_ENOSYS;
	   LAB 7 END */
}

/*
 * A sleeping ring_enter waits for completions or its timeout.  Programs
 * pass a deadline that moves on a little with each call (an idle timeout
 * re-armed per request) and most waits end by a completion, so inserting
 * a timer on each wait and cancelling it at the end would cost both on
 * every call.  Instead the ring keeps one wheel entry across calls, and
 * a wait that ends leaves it queued:
 *
 *   - asked deadline d, entry queued for nap_at <= d: keep it.  When it
 *     fires, nap_at is in the past; if d is later, re-arm for d, so the
 *     wait still ends at d, never before;
 *   - nap_at > d (an earlier deadline than before): move it to d.
 *
 * An entry that fires between calls wakes the process's task once for
 * nothing (a spurious wake, which every future tolerates).  The entry
 * holds a clone of that task's waker until ring_teardown cancels it; the
 * wheel is the kernel executor's, which outlives every ring.
 *
 * Most waits find the entry queued, holding this task's waker, for a
 * time not reached yet; then it cannot have fired (the wheel's clock,
 * the same counter as ktimer_now_ns, never runs ahead of it) and there
 * is nothing to ask the wheel: no lock.  If it fires just after the
 * look, its wake brings the task back here.
 */
static enum poll nap_poll(struct ring *r, uint64_t d, struct context *cx)
{
	if (r->nap.polled && r->nap_at <= d && waker_will_wake(&r->nap_whom, cx->waker) &&
	    ktimer_now_ns() < r->nap_at)
		return POLL_PENDING;
	struct timer_wheel *wh = exec_wheel(&kernel_exec);
	for (;;) {
		if (r->nap.polled && r->nap_at > d)
			timer_entry_cancel(wh, &r->nap);
		if (!r->nap.polled)
			r->nap_at = d;
		if (timer_entry_poll(wh, &r->nap, r->nap_at, cx) == POLL_PENDING) {
			r->nap_whom = *cx->waker;
			return POLL_PENDING;
		}
		if (r->nap_at == d)
			return POLL_READY;   /* fired at d, or d was past */
		timer_entry_cancel(wh, &r->nap); /* fired early: re-arm for d */
	}
}

static void ring_wait_drop(struct future *f)
{
	struct ring_wait *w = (struct ring_wait *)f;
	if (w->armed)
		notified_drop(&w->ready);
	w->armed = w->timed = 0;
}

static enum poll ring_wait_poll(struct future *f, struct context *cx)
{
	struct ring_wait *w = (struct ring_wait *)f;
	struct ring *r = w->r;
	for (;;) {
		if (!w->armed) {
			/* Register before looking: a post in between still wakes us. */
			notified_init(&w->ready, &r->cq_ready);
			w->armed = 1;
		}
		unsigned long fl = spin_lock(&r->lock);
		int64_t n = rq_flush(&r->cq);
		if (n == 0)
			n = rq_ready(&r->cq);
		spin_unlock(&r->lock, fl);
		if (n < 0)
			w->io.result = n;
		if (n < 0 || (uint64_t)n >= w->min || w->zero)
			break;
		if (notified_poll(&w->ready, cx) == POLL_READY) {
			w->armed = 0;
			continue;
		}
		if (w->timed && nap_poll(r, w->deadline, cx) == POLL_READY) {
			w->timed = 0;
			break;
		}
		return POLL_PENDING;
	}
	ring_wait_drop(f);
	return POLL_READY;
}

static const struct future_vtable ring_wait_vtable = { ring_wait_poll, ring_wait_drop };

void ring_wait_init(struct ring_wait *w, struct proc *p, uint32_t min, uint64_t timeout_ns,
		    int64_t consumed)
{
	/* Field by field: ready is initialised when armed says so, never
	 * read before. */
	io_future_init(&w->io, &ring_wait_vtable);
	w->io.result = consumed;
	w->r = p->ring;
	w->min = min;
	w->armed = w->timed = 0;
	if (w->min > w->r->cq.entries)
		w->min = w->r->cq.entries; /* more can never be ready at once */
	if (timeout_ns != PX_RING_FOREVER && timeout_ns != 0) {
		uint64_t now = ktimer_now_ns();
		uint64_t d = now + timeout_ns;
		w->deadline = d < now ? TIMER_NEVER : d;  /* saturate */
		w->timed = 1;
	}
	w->zero = timeout_ns == 0;
}

/* ---- teardown ----------------------------------------------------------------*/

void ring_teardown(struct proc *p)
{
	struct ring *r = p->ring;
	if (!r)
		return;
	p->ring = NULL;
	unsigned long f = spin_lock(&r->lock);
	r->dead = true;
	for (;;) {
		struct ring_op *op = r->ops;
		while (op && op->cancel)
			op = op->next;
		if (!op)
			break;
		op->cancel = 1;
		struct task *t = task_of(op);
		task_ref(t);
		spin_unlock(&r->lock, f);
		task_wake_by_ref(t);
		task_unref(t);
		f = spin_lock(&r->lock);
	}
	/* An op polling on another hart may be copying to or from user
	 * memory: let it leave (polls never wait inside). */
	while (r->active) {
		spin_unlock(&r->lock, f);
		f = spin_lock(&r->lock);
	}
	spin_unlock(&r->lock, f);
	/* The process's task is the one here: nap_poll cannot run. */
	timer_entry_cancel(exec_wheel(&kernel_exec), &r->nap);
	ring_unref(r);
}
