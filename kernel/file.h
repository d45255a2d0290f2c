/* Open files: what a file descriptor names, and the ops table each kind of file provides. */
#ifndef KERNEL_FILE_H
#define KERNEL_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/io.h"

struct vm_root;

/*
 * Every file descriptor names a struct file, shared by the descriptors
 * that dup() and spawn copied.  What the file is — the console, one end
 * of a pipe, later a disk file or a socket — is decided once, when it is
 * made, by its ops table; nothing else ever asks which kind it is.
 *
 * An operation is started, not run: its start function checks what only
 * the kind can check and initialises a future (struct io_future, io.h) in
 * the caller's slot.  The caller — the syscall layer or a ring operation
 * (kernel/syscall.c, kernel/ring.c) — polls that future to Ready and
 * takes its result.  A new kind of file is a new ops table; neither
 * caller changes.
 */
enum io_op {
	IO_READ,   /* rq->len bytes into user memory at rq->va */
	IO_WRITE,  /* rq->len bytes from user memory at rq->va */
	IO_FSYNC,  /* everything written so far is durable */
	IO_STAT,   /* a struct px_stat to user memory at rq->va */
	IO_NOPS
};

/* One operation's arguments, checked by file_start before the kind sees
 * them (the buffer is mapped with the right permission; off is
 * PX_OFF_CUR unless the kind can seek). */
struct io_req {
	struct file *file;
	const struct vm_root *vm; /* the program's address space */
	uint64_t va;
	uint64_t len;
	uint64_t off;             /* PX_OFF_CUR: at (and advancing) f->pos */
};

/*
 * Start an operation.  Returns IO_STARTED with a future initialised in
 * *slot, or the operation's final result at once (>= 0, or -PX_E*) with
 * nothing in the slot.  Called in task context; must not wait.
 */
#define IO_STARTED 1
typedef int64_t io_start_fn(const struct io_req *rq, union io_slot *slot);

struct file_ops {
	const char *kind;             /* "console", "pipe", ...: for messages */
	io_start_fn *start[IO_NOPS];  /* NULL: not supported by this kind */
	bool seekable;                /* honours io_req.off and f->pos */
	bool terminal;                /* the console: has a foreground group */
	/* The last reference went: release the kind's object.  Must not wait
	 * (a kind whose close has to wait starts a kernel task for it). */
	void (*release)(struct file *f);
};

struct file {
	const struct file_ops *ops;
	atomic_int refs;
	uint32_t objsize;             /* bytes of obj allocated with the file, else 0 */
	_Atomic uint64_t pos;         /* seekable kinds: the file position */
	void *obj;                    /* the kind's object (a struct pipe, ...) */
};

/* A new file of the given kind with one reference; NULL if out of memory. */
struct file *file_alloc(const struct file_ops *ops, void *obj);
/* The same with room for the kind's object (objsize bytes, not zeroed)
 * after it in one allocation: f->obj points there, and the last
 * file_put frees both, after ops->release.  One allocation per open. */
struct file *file_alloc_with(const struct file_ops *ops, size_t objsize);
/* Another reference (NULL stays NULL). */
struct file *file_dup(struct file *f);
/* Drop a reference (NULL is fine); the last one calls ops->release. */
void file_put(struct file *f);

/*
 * The one dispatcher of both doors.  Checks what is the same for every
 * kind — the operation is supported (else -PX_EBADF for read/write on the
 * wrong end, -PX_EINVAL for fsync), an offset only on a seekable file
 * (else -PX_ESPIPE), the whole user buffer mapped with the right
 * permission (else -PX_EFAULT, before any byte moves: a pipe's data is
 * never taken and then lost to a bad address), a zero-length transfer is
 * 0 at once — then calls the kind's start function.
 */
int64_t file_start(enum io_op op, const struct io_req *rq, union io_slot *slot);

#endif /* KERNEL_FILE_H */
