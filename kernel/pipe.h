/* Pipes: a one-page ring between writers and readers, with read and write futures. */
#ifndef KERNEL_PIPE_H
#define KERNEL_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor/notify.h"
#include "executor/spin.h"

struct vm_root;

#define PIPE_SIZE 4096

struct pipe {
	struct spin lock;
	char *buf;             /* one page */
	uint32_t head, tail;   /* free-running; head - tail bytes queued */
	int readers, writers;  /* open ends */
	struct notify readable; /* data arrived, or the last writer left */
	struct notify writable; /* room appeared, or the last reader left */
};

/* A new pipe with one reader and one writer; NULL if out of memory. */
struct pipe *pipe_create(void);
/* Close one end; the pipe is freed when both counts reach zero. */
void pipe_close(struct pipe *p, bool writer);
void pipe_open(struct pipe *p, bool writer); /* dup */

/* read: completes with 1..n bytes copied to user memory at va, 0 once no
 * writer is left and the ring is empty, or -PX_EFAULT. */
struct pipe_read {
	struct pipe *p;
	const struct vm_root *vm;
	uint64_t va;
	size_t n;
	long result;
	bool waiting;
	struct notified wait;
};
void pipe_read_init(struct pipe_read *r, struct pipe *p, const struct vm_root *vm,
		    uint64_t va, size_t n);
enum poll pipe_read_poll(struct pipe_read *r, struct context *cx);
void pipe_read_drop(struct pipe_read *r);

/* write: completes once all n bytes are in the ring (waiting for room as
 * needed); -PX_EPIPE if no reader is left before anything was written,
 * else the bytes written; -PX_EFAULT for a bad buffer. */
struct pipe_write {
	struct pipe *p;
	const struct vm_root *vm;
	uint64_t va;
	size_t n, done;
	long result;
	bool waiting;
	struct notified wait;
};
void pipe_write_init(struct pipe_write *w, struct pipe *p, const struct vm_root *vm,
		     uint64_t va, size_t n);
enum poll pipe_write_poll(struct pipe_write *w, struct context *cx);
void pipe_write_drop(struct pipe_write *w);

#endif /* KERNEL_PIPE_H */
