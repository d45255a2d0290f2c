/* Pipes: a one-page ring, readers and writers as futures woken by notify. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arch.h"
#include "executor/notify.h"
#include "executor/spin.h"
#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/pipe.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

struct pipe {
	struct spin lock;
	char *buf;              /* one page */
	uint32_t head, tail;    /* free-running; head - tail bytes queued */
	int readers, writers;   /* open ends (files, not descriptors) */
	struct notify readable; /* data arrived, or the last writer left */
	struct notify writable; /* room appeared, or the last reader left */
};

/* Close one end; the pipe is freed when both are closed.  The other
 * side learns about the end: readers see EOF, writers see EPIPE. */
static void pipe_close(struct pipe *p, bool writer)
{
	unsigned long f = spin_lock(&p->lock);
	int left = writer ? --p->writers : --p->readers;
	bool gone = p->readers == 0 && p->writers == 0;
	spin_unlock(&p->lock, f);
	if (gone) {
		kpage_free(p->buf);
		kfree(p, sizeof(*p));
		return;
	}
	if (left == 0)
		notify_all(writer ? &p->readable : &p->writable);
}

/* ---- read ------------------------------------------------------------------*/

struct pipe_read {
	struct io_future io;
	struct pipe *p;
	const struct vm_root *vm;
	uint64_t va;
	size_t n;
	bool waiting;
	struct notified wait;
};
IO_SLOT_FITS(struct pipe_read);

/* Take up to n bytes out of the ring into user memory.  Caller holds the
 * lock.  Returns bytes taken (0: empty), or -PX_EFAULT. */
static long take(struct pipe *p, const struct vm_root *vm, uint64_t va, size_t n)
{
	uint32_t avail = p->head - p->tail;
	size_t k = n < avail ? n : avail, done = 0;
	while (done < k) {
		uint32_t at = (p->tail + done) % PIPE_SIZE;
		size_t chunk = k - done < PIPE_SIZE - at ? k - done : PIPE_SIZE - at;
		if (copyout(vm, va + done, p->buf + at, chunk) != 0)
			return -PX_EFAULT;
		done += chunk;
	}
	p->tail += (uint32_t)k;
	return (long)k;
}

static enum poll pipe_read_poll(struct future *fut, struct context *cx)
{
	struct pipe_read *r = (struct pipe_read *)fut;
	struct pipe *p = r->p;
	for (;;) {
		if (r->waiting) {
			if (notified_poll(&r->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			r->waiting = false;
		}
		unsigned long f = spin_lock(&p->lock);
		long got = take(p, r->vm, r->va, r->n);
		bool eof = got == 0 && p->writers == 0;
		if (got == 0 && !eof) {
			/* Register while still holding the lock: a writer's
			 * notify_all after our unlock then counts for us. */
			notified_init(&r->wait, &p->readable);
			r->waiting = true;
		}
		spin_unlock(&p->lock, f);
		if (got != 0 || eof) {
			if (got > 0)
				notify_all(&p->writable);
			r->io.result = got;
			return POLL_READY;
		}
	}
}

static void pipe_read_drop(struct future *fut)
{
	struct pipe_read *r = (struct pipe_read *)fut;
	if (r->waiting)
		notified_drop(&r->wait);
	r->waiting = false;
}

static const struct future_vtable pipe_read_vtable = { pipe_read_poll, pipe_read_drop };

static int64_t pipe_read_start(const struct io_req *rq, union io_slot *slot)
{
	/* Field by field: the waiter node is set up only if we wait. */
	struct pipe_read *r = (struct pipe_read *)slot;
	io_future_init(&r->io, &pipe_read_vtable);
	r->p = rq->file->obj;
	r->vm = rq->vm;
	r->va = rq->va;
	r->n = rq->len;
	r->waiting = false;
	return IO_STARTED;
}

/* ---- write -----------------------------------------------------------------*/

struct pipe_write {
	struct io_future io;
	struct pipe *p;
	const struct vm_root *vm;
	uint64_t va;
	size_t n, done;
	bool waiting;
	struct notified wait;
};
IO_SLOT_FITS(struct pipe_write);

/* Put as much of the rest of w into the ring as fits.  Caller holds the
 * lock.  Returns bytes put, or -PX_EFAULT. */
static long put(struct pipe *p, struct pipe_write *w)
{
	size_t room = PIPE_SIZE - (p->head - p->tail), want = w->n - w->done;
	size_t k = want < room ? want : room, done = 0;
	while (done < k) {
		uint32_t at = (p->head + done) % PIPE_SIZE;
		size_t chunk = k - done < PIPE_SIZE - at ? k - done : PIPE_SIZE - at;
		if (copyin(w->vm, p->buf + at, w->va + w->done + done, chunk) != 0)
			return -PX_EFAULT;
		done += chunk;
	}
	p->head += (uint32_t)k;
	return (long)k;
}

static enum poll pipe_write_poll(struct future *fut, struct context *cx)
{
	struct pipe_write *w = (struct pipe_write *)fut;
	struct pipe *p = w->p;
	for (;;) {
		if (w->waiting) {
			if (notified_poll(&w->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			w->waiting = false;
		}
		unsigned long f = spin_lock(&p->lock);
		if (p->readers == 0) {
			spin_unlock(&p->lock, f);
			w->io.result = w->done ? (int64_t)w->done : -PX_EPIPE;
			return POLL_READY;
		}
		long put_n = put(p, w);
		if (put_n < 0) {
			spin_unlock(&p->lock, f);
			w->io.result = put_n;
			return POLL_READY;
		}
		w->done += (size_t)put_n;
		w->io.result = (int64_t)w->done; /* moved so far (kernel/io.h) */
		bool finished = w->done == w->n;
		if (!finished) {
			notified_init(&w->wait, &p->writable);
			w->waiting = true;
		}
		spin_unlock(&p->lock, f);
		if (put_n > 0)
			notify_all(&p->readable);
		if (finished) {
			w->io.result = (int64_t)w->n;
			return POLL_READY;
		}
	}
}

static void pipe_write_drop(struct future *fut)
{
	struct pipe_write *w = (struct pipe_write *)fut;
	if (w->waiting)
		notified_drop(&w->wait);
	w->waiting = false;
}

static const struct future_vtable pipe_write_vtable = { pipe_write_poll, pipe_write_drop };

static int64_t pipe_write_start(const struct io_req *rq, union io_slot *slot)
{
	struct pipe_write *w = (struct pipe_write *)slot;
	io_future_init(&w->io, &pipe_write_vtable);
	w->p = rq->file->obj;
	w->vm = rq->vm;
	w->va = rq->va;
	w->n = rq->len;
	w->done = 0;
	w->waiting = false;
	return IO_STARTED;
}

/* ---- the two kinds of file ----------------------------------------------------*/

static int64_t pipe_stat(const struct io_req *rq, union io_slot *slot)
{
	struct pipe *p = rq->file->obj;
	(void)slot;
	unsigned long f = spin_lock(&p->lock);
	struct px_stat st = { .type = PX_S_FIFO, .size = p->head - p->tail };
	spin_unlock(&p->lock, f);
	return copyout(rq->vm, rq->va, &st, sizeof(st));
}

static void pipe_release_read(struct file *f)
{
	pipe_close(f->obj, false);
}

static void pipe_release_write(struct file *f)
{
	pipe_close(f->obj, true);
}

static const struct file_ops pipe_read_ops = {
	.kind = "pipe (read end)",
	.start = { [IO_READ] = pipe_read_start, [IO_STAT] = pipe_stat },
	.release = pipe_release_read,
};

static const struct file_ops pipe_write_ops = {
	.kind = "pipe (write end)",
	.start = { [IO_WRITE] = pipe_write_start, [IO_STAT] = pipe_stat },
	.release = pipe_release_write,
};

int pipe_files(struct file **rd, struct file **wr)
{
	struct pipe *p = kmalloc(sizeof(*p));
	char *buf = kpage_alloc();
	struct file *r = NULL, *w = NULL;
	if (p && buf) {
		r = file_alloc(&pipe_read_ops, p);
		w = file_alloc(&pipe_write_ops, p);
	}
	if (!r || !w) {
		kfree(r, sizeof(*r));
		kfree(w, sizeof(*w));
		kpage_free(buf);
		kfree(p, sizeof(*p));
		return -PX_ENOMEM;
	}
	*p = (struct pipe){ .buf = buf, .readers = 1, .writers = 1 };
	spin_init(&p->lock);
	notify_init(&p->readable);
	notify_init(&p->writable);
	*rd = r;
	*wr = w;
	return 0;
}
