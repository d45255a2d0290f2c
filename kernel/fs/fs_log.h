/* The write-ahead log: transactions, group commit, recovery. */
#ifndef KERNEL_FS_FS_LOG_H
#define KERNEL_FS_FS_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/notify.h"
#include "executor/spin.h"
#include "kernel/fs/fs_cache.h"

/*
 * Every change to the disk is made in cached buffers inside a transaction
 * and reaches the disk only through the log (docs/fs.md, "The log"):
 *
 *   fs_begin   reserve room for the operation's worst case (waits while a
 *              commit runs or the log is full);
 *   fs_log_write(b)   the operation changed b: the transaction holds b
 *              (a cache reference) until it is installed;
 *   fs_end     the operation is finished; when the last operation of a
 *              transaction ends, the transaction commits;
 *   fs_durable wait until a transaction is on the disk.
 *
 * A commit (the state machine in fs_log.c, driven by every task waiting
 * for it):
 *   1. write the open transaction's blocks to the slots after the
 *      committed ones, all requests in flight at once;
 *   2. write a header naming every slot in use (count, block numbers,
 *      crc) into the header block not holding the newest header: the
 *      commit point.  The blocks stay in the log, held in the cache.
 * A checkpoint (when a reservation no longer fits, or at unmount, with
 * no operation open) writes each distinct logged block home, then an
 * empty header.  Each step starts only when every request of the step
 * before has completed.  Recovery (fs_mount) replays the newest
 * complete header.
 *
 * The commit's requests are polled with the log's own waker, whose wake
 * sets `kicked` and wakes the waiter that last called drive (drv_owner);
 * the one that finds `driving` clear drives the machine, the others wait
 * for the end of the commit, so a completion is never lost and no task
 * is needed for commits.
 *
 * Lock order: the log lock is a leaf held for a few instructions, except
 * that it is taken before the cache lock (fs_log_write holds a buffer).
 */
struct fs_log {
	struct spin lock;
	struct fs_cache *cache;
	struct fs_dev *dev;
	uint32_t start;           /* first header block; slots follow it */
	uint32_t hblock[2];       /* the two header blocks */
	unsigned hcur;            /* which of them holds the newest header */
	uint32_t cap;             /* data blocks a transaction may hold */
	uint32_t outstanding;     /* operations in the open transaction */
	uint32_t reserved;        /* their reservations together */
	uint32_t n;               /* slots in use: committed, then the open transaction */
	uint32_t ncommitted;      /* slots [0, ncommitted) are committed, not yet home */
	struct fs_buf **bufs;     /* cap of them, each holding a cache reference */
	uint8_t *io_done;         /* per block: this step's request finished */
	uint64_t seq;             /* the open transaction */
	uint64_t durable;         /* every transaction up to this one is on disk */
	int error;                /* sticky: a commit failed, everything is -PX_EIO */
	bool committing;
	bool driving;
	_Atomic bool kicked;
	uint8_t phase;
	uint32_t from, left;      /* this step's first unfinished slot; requests unfinished */
	bool fresh;               /* this step's requests have not been polled yet */
	struct notify changed;    /* a commit moved on or ended, room appeared */
	struct waker drv_waker;   /* the waiter that drives next (lw_wake); lock */
	const void *drv_owner;    /* its fs_begin or fs_durable; lock */
	void *hdr;                /* one page: the header being written */
	uint32_t blocks_crc;      /* crc of the committed slots' header entries */
	uint32_t next_blocks_crc; /* the same once the header being written is */
	struct fs_req hreq;
	uint64_t commits, blocks_committed, checkpoints;
};

/* start: the first header block (slot i is start + 1 + i); alt: the
 * second; cur (0 or 1): the one holding the newest header on the disk
 * (the next header goes to the other); seq: its seq. */
int fs_log_init(struct fs_log *l, struct fs_cache *c, struct fs_dev *dev, uint32_t start,
		uint32_t alt, unsigned cur, uint32_t cap, uint64_t seq);
void fs_log_destroy(struct fs_log *l);

/* Ready when `want` blocks are reserved in the open transaction (result
 * 0), or -PX_EIO after a failed commit. */
struct fs_begin {
	struct fs_log *l;
	uint32_t want;
	bool waiting;
	int result;
	struct notified wait;
};
void fs_begin_init(struct fs_begin *b, struct fs_log *l, uint32_t want);
enum poll fs_begin_poll(struct fs_begin *b, struct context *cx);
void fs_begin_drop(struct fs_begin *b);

/* b (held by the caller) was changed inside the caller's transaction. */
void fs_log_write(struct fs_log *l, struct fs_buf *b);
/* An operation met damage after changing buffers: its changes must never
 * reach the disk.  The open transaction is abandoned and the log fails
 * everything from now on with -PX_EIO (the disk keeps its last commit). */
void fs_log_abort(struct fs_log *l);
/* The operation that reserved `want` is finished; returns the transaction
 * to wait for with fs_durable. */
uint64_t fs_end(struct fs_log *l, uint32_t want);
/* The open transaction's number (what a change made now will be in). */
uint64_t fs_log_seq(struct fs_log *l);

/* Ready when transaction seq is durable (result 0) or the log failed. */
struct fs_durable {
	struct fs_log *l;
	uint64_t seq;
	bool empty;               /* also wait until the log is installed and empty */
	bool waiting;
	int result;
	struct notified wait;
};
void fs_durable_init(struct fs_durable *d, struct fs_log *l, uint64_t seq);
enum poll fs_durable_poll(struct fs_durable *d, struct context *cx);
void fs_durable_drop(struct fs_durable *d);

#endif /* KERNEL_FS_FS_LOG_H */
