/* Regular files and directories as kinds of struct file: the file system's operations behind kernel/file.h. */
#include <stdatomic.h>
#include <string.h>

#include "kernel/file.h"
#include "kernel/fs/fs_file.h"
#include "kernel/fs/fs_ops.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/uaccess.h"

/*
 * Made by the open syscall and the ring's OPENAT (kernel/fsys.c).  A
 * file's object is a struct fs_file; every start function wraps
 * the core's future (struct fs_op, kernel/fs/fs_ops.h) in a struct
 * fs_file_io, which adds what a struct file needs around it: the file
 * position (read and write at PX_OFF_CUR start at f->pos and move it),
 * O_APPEND, the stat record copied out to the program, and `busy` and
 * `cancelled` passed between the caller and the core's future.
 */
struct fs_file {
	struct fs *fs;
	struct fs_inode *ip;
	int flags;               /* the open flags */
};

struct fs_file_io {
	struct io_future io;     /* what the caller polls */
	struct {
		struct fs_op op;     /* the core's future, in place: the core
		                        reads and writes only a struct fs_op
		                        through the slot pointer it is given */
	} inner;
	struct file *f;
	bool cur;                /* at f->pos, and moving it */
	bool stat;               /* copy st out on success */
	bool now;                /* no core future: io.result was had at once */
	const struct vm_root *vm;
	uint64_t va;
	struct px_stat st;
};
IO_SLOT_FITS(struct fs_file_io);

static union io_slot *inner_slot(struct fs_file_io *w)
{
	return (union io_slot *)(void *)&w->inner;
}

static enum poll ffio_poll(struct future *fut, struct context *cx)
{
	struct fs_file_io *w = (struct fs_file_io *)fut;
	struct io_future *in = &w->inner.op.io;
	if (w->now)
		return POLL_READY;
	/* The record lives in this wrapper, which may have moved since the
	 * start (a ring operation is started on the stack): point the core
	 * at where it is now. */
	if (w->stat && w->inner.op.c)
		w->inner.op.c->st = &w->st;
	in->cancelled = w->io.cancelled;
	enum poll p = io_poll(in, cx);
	w->io.busy = in->busy;
	if (p == POLL_PENDING)
		return POLL_PENDING;
	w->io.result = in->result;
	if (w->cur && in->result > 0)
		atomic_store(&w->f->pos, fs_op_pos(inner_slot(w)));
	if (w->stat && in->result == 0)
		w->io.result = copyout(w->vm, w->va, &w->st, sizeof(w->st));
	return POLL_READY;
}

static void ffio_drop(struct future *fut)
{
	struct fs_file_io *w = (struct fs_file_io *)fut;
	if (!w->now)
		io_drop(&w->inner.op.io);
}

static const struct future_vtable ffio_vtable = { ffio_poll, ffio_drop };

/* Set up the wrapper; then `started` is what the core's start returned. */
static int64_t wrap(struct fs_file_io *w, const struct io_req *rq, int64_t started, bool cur)
{
	if (started != IO_STARTED) {
		if (cur && started > 0)
			atomic_fetch_add(&rq->file->pos, (uint64_t)started);
		return started;
	}
	io_future_init(&w->io, &ffio_vtable);
	w->io.busy = w->inner.op.io.busy;
	w->now = false;
	return IO_STARTED;
}

/* A result had at once (fs_*_now) that reads as IO_STARTED (one byte):
 * returned by a future that is Ready at its first poll. */
static int64_t wrap_now(struct fs_file_io *w, const struct io_req *rq, int64_t r)
{
	if (r != IO_STARTED)
		return wrap(w, rq, r, w->cur);
	if (w->cur)
		atomic_fetch_add(&rq->file->pos, (uint64_t)r);
	io_future_init(&w->io, &ffio_vtable);
	w->now = true;
	w->io.result = r;
	return IO_STARTED;
}

static void prepare(struct fs_file_io *w, const struct io_req *rq, uint64_t *off)
{
	w->f = rq->file;
	w->cur = rq->off == PX_OFF_CUR;
	w->stat = false;
	w->vm = rq->vm;
	w->va = rq->va;
	*off = w->cur ? atomic_load(&rq->file->pos) : rq->off;
}

static int64_t ff_read(const struct io_req *rq, union io_slot *slot)
{
	struct fs_file_io *w = (struct fs_file_io *)slot;
	struct fs_file *ff = rq->file->obj;
	uint64_t off;
	if ((ff->flags & PX_O_ACCMODE) == PX_O_WRONLY)
		return -PX_EBADF;
	prepare(w, rq, &off);
	int64_t r = fs_read_now(ff->fs, ff->ip, rq->vm, rq->va, rq->len, off);
	if (r != FS_WOULD_WAIT)
		return wrap_now(w, rq, r);
	return wrap(w, rq, fs_read(inner_slot(w), ff->fs, ff->ip, rq->vm, rq->va, rq->len, off),
		    w->cur);
}

static int64_t ff_write(const struct io_req *rq, union io_slot *slot)
{
	struct fs_file_io *w = (struct fs_file_io *)slot;
	struct fs_file *ff = rq->file->obj;
	uint64_t off;
	if ((ff->flags & PX_O_ACCMODE) == PX_O_RDONLY)
		return -PX_EBADF;
	prepare(w, rq, &off);
	/* O_APPEND: every write goes to the end (pwrite too, as on Linux); one
	 * at the file position leaves it at the new end, a pwrite does not
	 * move it */
	bool append = (ff->flags & PX_O_APPEND) != 0;
	return wrap(w, rq,
		    fs_write(inner_slot(w), ff->fs, ff->ip, rq->vm, rq->va, rq->len, off, append),
		    w->cur);
}

static int64_t ff_fsync(const struct io_req *rq, union io_slot *slot)
{
	struct fs_file_io *w = (struct fs_file_io *)slot;
	struct fs_file *ff = rq->file->obj;
	uint64_t off;
	prepare(w, rq, &off);
	w->cur = false;
	return wrap(w, rq, fs_fsync(inner_slot(w), ff->fs, ff->ip), false);
}

static int64_t ff_stat(const struct io_req *rq, union io_slot *slot)
{
	struct fs_file_io *w = (struct fs_file_io *)slot;
	struct fs_file *ff = rq->file->obj;
	uint64_t off;
	prepare(w, rq, &off);
	w->cur = false;
	w->stat = true;
	int64_t r = fs_stat_now(ff->fs, ff->ip, &w->st);
	if (r == 0)
		return copyout(rq->vm, rq->va, &w->st, sizeof(w->st));
	if (r != FS_WOULD_WAIT)
		return r;
	return wrap(w, rq, fs_stat(inner_slot(w), ff->fs, ff->ip, &w->st), false);
}

/* ---- close: the last reference of an unlinked file frees it in a task -----------------*/

struct reclaim_task {
	struct future base;
	struct fs *fs;
	bool started;
	union io_slot slot;
};

static enum poll reclaim_poll(struct future *fut, struct context *cx)
{
	struct reclaim_task *t = (struct reclaim_task *)fut;
	if (!t->started) {
		t->started = true;
		if (fs_reclaim(&t->slot, t->fs) != IO_STARTED)
			return POLL_READY;
	}
	return io_poll(&t->slot.f, cx);
}

/* The task is polled to Ready before the executor drops it (reclaim is
 * busy while it frees blocks): nothing to release here. */
static const struct future_vtable reclaim_vtable = { reclaim_poll, NULL };

void fs_file_reclaim(struct fs *fs)
{
	struct reclaim_task t = { .base = { &reclaim_vtable }, .fs = fs };
	/* Out of task slots: the inode stays on the orphan list, and the
	 * next reclaim or mount frees it. */
	(void)KSPAWN(t, "fs-reclaim", NULL);
}

void fs_file_iput(struct fs *fs, struct fs_inode *ip)
{
	if (fs_iput(fs, ip))
		fs_file_reclaim(fs);
}

static void ff_release(struct file *f)
{
	struct fs_file *ff = f->obj;
	fs_file_iput(ff->fs, ff->ip); /* file_put frees f, ff with it */
}

static const struct file_ops fs_reg_ops = {
	.kind = "file",
	.start = {
		[IO_READ] = ff_read,
		[IO_WRITE] = ff_write,
		[IO_FSYNC] = ff_fsync,
		[IO_STAT] = ff_stat,
	},
	.seekable = true,
	.release = ff_release,
};

/* read() of a directory: getdents reads it. */
static int64_t fd_read(const struct io_req *rq, union io_slot *slot)
{
	(void)rq;
	(void)slot;
	return -PX_EISDIR;
}

/* A directory is not read or written as bytes (getdents reads it). */
static const struct file_ops fs_dir_ops = {
	.kind = "directory",
	.start = {
		[IO_READ] = fd_read,
		[IO_FSYNC] = ff_fsync,
		[IO_STAT] = ff_stat,
	},
	.seekable = true,
	.release = ff_release,
};

int fs_file_new(struct fs *fs, struct fs_inode *ip, int flags, struct file **out)
{
	bool dir = fs_inode_type(ip) == PX_S_DIR;
	struct file *f = file_alloc_with(dir ? &fs_dir_ops : &fs_reg_ops, sizeof(struct fs_file));
	if (!f)
		return -PX_ENOMEM;
	*(struct fs_file *)f->obj = (struct fs_file){ .fs = fs, .ip = ip, .flags = flags };
	*out = f;
	return 0;
}

bool fs_file_is(const struct file *f)
{
	return f->ops == &fs_reg_ops || f->ops == &fs_dir_ops;
}

int64_t fs_file_getdents(const struct io_req *rq, union io_slot *slot)
{
	struct fs_file_io *w = (struct fs_file_io *)slot;
	struct file *f = rq->file;
	/* Not a directory before a short buffer, for every kind of fd. */
	if (f->ops != &fs_dir_ops)
		return -PX_ENOTDIR;
	struct fs_file *ff = f->obj;
	uint64_t off;
	prepare(w, rq, &off);
	return wrap(w, rq, fs_getdents(inner_slot(w), ff->fs, ff->ip, rq->vm, rq->va, rq->len, off),
		    w->cur);
}

int64_t fs_file_truncate(const struct io_req *rq, union io_slot *slot)
{
	struct fs_file_io *w = (struct fs_file_io *)slot;
	struct file *f = rq->file;
	if (!fs_file_is(f) || rq->off > INT64_MAX)
		return -PX_EINVAL;
	struct fs_file *ff = f->obj;
	if (f->ops == &fs_dir_ops)
		return -PX_EISDIR;
	if ((ff->flags & PX_O_ACCMODE) == PX_O_RDONLY)
		return -PX_EBADF;
	uint64_t off;
	prepare(w, rq, &off);
	w->cur = false;
	return wrap(w, rq, fs_truncate(inner_slot(w), ff->fs, ff->ip, rq->off), false);
}

int64_t fs_file_size(const struct file *f)
{
	if (f->ops != &fs_reg_ops)
		return -PX_EINVAL;
	struct fs_file *ff = f->obj;
	return (int64_t)fs_inode_size(ff->ip);
}
