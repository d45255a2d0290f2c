/* Pipes: a one-page ring, readers and writers as futures woken by notify. */
#include "arch/arch.h"
#include "kernel/kalloc.h"
#include "kernel/pipe.h"
#include "kernel/uaccess.h"
#include "kernel/uapi/pollux.h"

struct pipe *pipe_create(void)
{
	struct pipe *p = kmalloc(sizeof(*p));
	if (!p)
		return NULL;
	p->buf = kpage_alloc();
	if (!p->buf) {
		kfree(p, sizeof(*p));
		return NULL;
	}
	spin_init(&p->lock);
	p->readers = p->writers = 1;
	notify_init(&p->readable);
	notify_init(&p->writable);
	return p;
}

void pipe_open(struct pipe *p, bool writer)
{
	unsigned long f = spin_lock(&p->lock);
	if (writer)
		p->writers++;
	else
		p->readers++;
	spin_unlock(&p->lock, f);
}

void pipe_close(struct pipe *p, bool writer)
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
	/* The other side must learn about the end: readers see EOF, writers
	 * see EPIPE. */
	if (left == 0)
		notify_all(writer ? &p->readable : &p->writable);
}

/* ---- read ------------------------------------------------------------------*/

void pipe_read_init(struct pipe_read *r, struct pipe *p, const struct vm_root *vm,
		    uint64_t va, size_t n)
{
	*r = (struct pipe_read){ .p = p, .vm = vm, .va = va, .n = n };
}

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

enum poll pipe_read_poll(struct pipe_read *r, struct context *cx)
{
	struct pipe *p = r->p;
	for (;;) {
		if (r->waiting) {
			if (notified_poll(&r->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			r->waiting = false;
		}
		if (r->n == 0) {
			r->result = 0;
			return POLL_READY;
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
			r->result = got;
			return POLL_READY;
		}
	}
}

void pipe_read_drop(struct pipe_read *r)
{
	if (r->waiting)
		notified_drop(&r->wait);
	r->waiting = false;
}

/* ---- write -----------------------------------------------------------------*/

void pipe_write_init(struct pipe_write *w, struct pipe *p, const struct vm_root *vm,
		     uint64_t va, size_t n)
{
	*w = (struct pipe_write){ .p = p, .vm = vm, .va = va, .n = n };
}

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

enum poll pipe_write_poll(struct pipe_write *w, struct context *cx)
{
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
			w->result = w->done ? (long)w->done : -PX_EPIPE;
			return POLL_READY;
		}
		long put_n = put(p, w);
		if (put_n < 0) {
			spin_unlock(&p->lock, f);
			w->result = put_n;
			return POLL_READY;
		}
		w->done += (size_t)put_n;
		bool finished = w->done == w->n;
		if (!finished) {
			notified_init(&w->wait, &p->writable);
			w->waiting = true;
		}
		spin_unlock(&p->lock, f);
		if (put_n > 0)
			notify_all(&p->readable);
		if (finished) {
			w->result = (long)w->n;
			return POLL_READY;
		}
	}
}

void pipe_write_drop(struct pipe_write *w)
{
	if (w->waiting)
		notified_drop(&w->wait);
	w->waiting = false;
}
