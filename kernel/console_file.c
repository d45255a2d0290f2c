/* The console as a kind of file: reads and writes of a program's memory through the console futures. */
#include <stddef.h>
#include <stdint.h>

#include "kernel/console.h"
#include "kernel/console_file.h"
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/* read: the console's own future, delivering into user memory. */
struct con_read {
	struct io_future io;
	struct console_read rd;
};
IO_SLOT_FITS(struct con_read);

static enum poll con_read_poll(struct future *f, struct context *cx)
{
	struct con_read *r = (struct con_read *)f;
	if (console_read_poll(&r->rd, cx) == POLL_PENDING)
		return POLL_PENDING;
	r->io.result = r->rd.result;
	return POLL_READY;
}

static void con_read_drop(struct future *f)
{
	console_read_drop(&((struct con_read *)f)->rd);
}

static const struct future_vtable con_read_vtable = { con_read_poll, con_read_drop };

static int64_t con_read_start(const struct io_req *rq, union io_slot *slot)
{
	struct con_read *r = (struct con_read *)slot;
	io_future_init(&r->io, &con_read_vtable);
	console_read_init_user(&r->rd, rq->vm, rq->va, rq->len);
	return IO_STARTED;
}

/*
 * write: the program's bytes are copied in a chunk at a time and each
 * chunk goes through console_write (which turns '\n' into "\r\n" and
 * waits for room in the transmit ring).  A chunk that can no longer be
 * copied (the program unmapped its buffer meanwhile) ends the write
 * short: the bytes already on their way out.
 */
#define CON_CHUNK 64

struct con_write {
	struct io_future io;
	const struct vm_root *vm;
	uint64_t va;
	uint64_t len, done;
	bool writing;                /* w holds a chunk */
	struct console_write w;
	char chunk[CON_CHUNK];
};
IO_SLOT_FITS(struct con_write);

static enum poll con_write_poll(struct future *f, struct context *cx)
{
	struct con_write *c = (struct con_write *)f;
	for (;;) {
		if (c->writing) {
			if (console_write_poll(&c->w, cx) == POLL_PENDING)
				return POLL_PENDING;
			c->writing = false;
			c->done += c->w.n;
		}
		uint64_t k = c->len - c->done;
		if (k > CON_CHUNK)
			k = CON_CHUNK;
		if (k == 0 || copyin(c->vm, c->chunk, c->va + c->done, k) != 0) {
			c->io.result = c->done ? (int64_t)c->done : -PX_EFAULT;
			return POLL_READY;
		}
		console_write_init(&c->w, c->chunk, k);
		c->writing = true;
	}
}

static void con_write_drop(struct future *f)
{
	struct con_write *c = (struct con_write *)f;
	if (c->writing)
		console_write_drop(&c->w);
	c->writing = false;
}

static const struct future_vtable con_write_vtable = { con_write_poll, con_write_drop };

static int64_t con_write_start(const struct io_req *rq, union io_slot *slot)
{
	struct con_write *c = (struct con_write *)slot;
	io_future_init(&c->io, &con_write_vtable);
	c->vm = rq->vm;
	c->va = rq->va;
	c->len = rq->len;
	c->done = 0;
	c->writing = false;
	return IO_STARTED;
}

static int64_t con_stat(const struct io_req *rq, union io_slot *slot)
{
	struct px_stat st = { .type = PX_S_CHR };
	(void)slot;
	return copyout(rq->vm, rq->va, &st, sizeof(st));
}

static const struct file_ops console_ops = {
	.kind = "console",
	.start = { [IO_READ] = con_read_start, [IO_WRITE] = con_write_start,
		   [IO_STAT] = con_stat },
	.terminal = true,
};

/* One console file for everyone; its own reference keeps it alive. */
static struct file console_file = { .ops = &console_ops, .refs = 1 };

struct file *console_file_open(void)
{
	return file_dup(&console_file);
}
