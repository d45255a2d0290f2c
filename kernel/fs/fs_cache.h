/* The buffer cache: one 4 KiB block per page-sized buffer; a miss is a future woken by the device. */
#ifndef KERNEL_FS_FS_CACHE_H
#define KERNEL_FS_FS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/notify.h"
#include "executor/spin.h"
#include "kernel/fs/fs_dev.h"

/*
 * Each buffer holds one block.  States:
 *
 *   EMPTY ──get (miss)──► LOADING ──device completes, first poll sees it──► VALID
 *                            │                                  └──error──► ERROR
 *   get_zero (a block just allocated): straight to VALID, zero-filled, no read.
 *
 * The buffer owns its one device request (b->req) and a notify (b->done).
 * Its request is polled with the buffer's own waker, whose wake is
 * notify_all(&b->done) (and notify_all(&c->freed), below): every task
 * waiting for the block is woken by the one completion, and whichever
 * polls first under the cache lock moves the buffer to VALID.  So concurrent misses of one block share one
 * request, and a waiter that is dropped cancels nothing: the request
 * belongs to the buffer, not to the waiter.
 *
 * refs counts holders (struct fs_bget that reached Ready, or waiting on a
 * load, and the log, which holds every block of a transaction until it is
 * installed).  A buffer with refs == 0 sits on the LRU list; eviction
 * takes the least recently used one that is not LOADING — it never waits
 * for a buffer somebody uses.  An orphaned load (all its waiters dropped)
 * is finished by the eviction scan when the device is done with it; its
 * completion wakes the gets waiting for a free buffer (c->freed), since
 * the buffer has just become one.
 *
 * Lock order: the cache lock is taken after any inode lock and the log
 * lock, and before the device's lock (a poll of b->req) and a notify's
 * lock.  Nobody waits while holding it.
 */
enum { BUF_EMPTY, BUF_LOADING, BUF_VALID, BUF_ERROR };

struct fs_buf {
	uint32_t block;
	uint32_t refs;
	uint8_t state;
	bool logged;              /* in the log's open or committing transaction */
	bool hashed;
	uint32_t loads;           /* completed loads, to tell a waiter its load ended */
	struct fs_cache *cache;   /* the cache it belongs to */
	struct fs_buf *hnext;     /* hash chain */
	struct fs_buf *prev, *next; /* LRU list, while refs == 0 */
	struct notify done;       /* a load ended */
	struct fs_req req;        /* the buffer's one device request */
	void *data;               /* FS_BLOCK_SIZE bytes */
};

struct fs_cache_stats {
	uint64_t hits, misses, shared, evictions, reads, read_errors, waits_for_buffer;
	uint64_t prefetches;             /* reads started by fs_prefetch */
	uint32_t loading, loading_max;   /* reads in flight now / at most */
};

struct fs_cache {
	struct spin lock;
	struct fs_dev *dev;
	uint32_t nbuf;
	uint32_t cap;             /* entries of the bufs table */
	struct fs_buf **bufs;     /* nbuf of them, each allocated alone */
	struct fs_buf **hash;
	uint32_t hmask;
	struct fs_buf lru;        /* sentinel: lru.next is the least recently used */
	struct notify freed;      /* a buffer became evictable */
	struct fs_cache_stats stats;
};

/* nbuf buffers (at most FS_CACHE_MAX; each one's data a page from
 * fs_env_page_alloc).  0, -PX_EINVAL or -PX_ENOMEM. */
#define FS_CACHE_MAX 512u
int fs_cache_init(struct fs_cache *c, struct fs_dev *dev, uint32_t nbuf);
/* Every buffer unused (refs 0, nothing LOADING): free everything. */
void fs_cache_destroy(struct fs_cache *c);

/* Get block `block` held: loaded (zero = false) or zero-filled without a
 * read (zero = true: a block just allocated).  Ready with result 0 and
 * b set, or -PX_EIO (the read failed; the buffer is not held). */
struct fs_bget {
	struct fs_cache *c;
	uint32_t block;
	bool zero;
	bool held;                /* counted in b->refs */
	bool waiting;
	uint32_t loads_seen;      /* b->loads when we joined its load */
	struct fs_buf *b;
	int result;
	struct notified wait;
};
void fs_bget_init(struct fs_bget *g, struct fs_cache *c, uint32_t block, bool zero);
enum poll fs_bget_poll(struct fs_bget *g, struct context *cx);
/* Before Ready: leave (the load goes on without us).  After Ready: nothing. */
void fs_bget_drop(struct fs_bget *g);

/* Block `block` held if it is cached and VALID now, else NULL (nothing
 * started, nothing waited for): the operations tried at once (fs_now.c). */
struct fs_buf *fs_bget_now(struct fs_cache *c, uint32_t block);
/* Another reference to a held buffer. */
void fs_bhold(struct fs_cache *c, struct fs_buf *b);
/* Drop a reference. */
void fs_brelse(struct fs_cache *c, struct fs_buf *b);
/* Start reading `block` into a free buffer if it is not cached, without
 * waiting for anything or holding the buffer (read-ahead).  Does nothing
 * when no buffer is free. */
void fs_prefetch(struct fs_cache *c, uint32_t block);
/* The 32-bit word idx of block if it is cached and VALID now (an
 * indirect block, for read-ahead's map): true and *v, else false. */
bool fs_cache_peek32(struct fs_cache *c, uint32_t block, uint32_t idx, uint32_t *v);

/* A buffer whose load is still in flight (its waiters may all have
 * left), or NULL: unmount waits for each before freeing the pages. */
struct fs_buf *fs_cache_loading(struct fs_cache *c);

#endif /* KERNEL_FS_FS_CACHE_H */
