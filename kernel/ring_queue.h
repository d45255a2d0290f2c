/* Async rings, the shared-memory half: SQ fetch, CQ posting, overflow backlog, index checks. */
#ifndef KERNEL_RING_QUEUE_H
#define KERNEL_RING_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/uapi/pollux.h"

/*
 * Pure logic over the memory a ring shares with its program, with no
 * locks, tasks or page tables: kernel/ring.c calls it under the ring's
 * lock, and kernel/hosttest/ring_test.c drives it on the host over a fake
 * shared ring.
 *
 * Each ring (SQ or CQ) is a px_ring_hdr followed by its entry array,
 * spread over separately allocated 4 KiB frames (the frame allocator
 * hands out single pages): byte offset o lives in pages[o / 4096] at
 * o % 4096.  A CQE (16 bytes, at 32 + 16 i) never straddles a page; an
 * SQE (40 bytes, at 32 + 40 i) may, so SQEs are copied out in pieces.
 *
 * Trust: everything in shared memory may change under us at any time.
 * The kernel keeps its own mask, entry count, SQ head and CQ tail, reads
 * each shared index once (load-acquire) and validates it, and copies an
 * SQE out once before looking at it.  The header's mask and entries are
 * written at setup for the program's benefit and never read back.
 */

#define RQ_PAGE 4096u
#define RQ_HDR_BYTES 32u
/* Pages of the largest SQ (32 + 40 * 1024 bytes) and CQ (32 + 16 * 2048). */
#define RQ_MAX_PAGES 11
/* Backlog: 2 x CQ entries, 256 CQEs per page. */
#define RQ_BL_PER_PAGE (RQ_PAGE / sizeof(struct px_cqe))
#define RQ_BL_MAX (4u * PX_RING_MAX)
#define RQ_BL_PAGES (RQ_BL_MAX / RQ_BL_PER_PAGE)

/* Bytes of the SQ / CQ area (header + entries) for `entries` SQ entries. */
static inline uint32_t rq_sq_bytes(uint32_t entries)
{
	return RQ_HDR_BYTES + entries * (uint32_t)sizeof(struct px_sqe);
}
static inline uint32_t rq_cq_bytes(uint32_t entries)
{
	return RQ_HDR_BYTES + 2 * entries * (uint32_t)sizeof(struct px_cqe);
}
static inline uint32_t rq_pages(uint32_t bytes)
{
	return (bytes + RQ_PAGE - 1) / RQ_PAGE;
}

/* The submission side. */
struct rsq {
	void *pages[RQ_MAX_PAGES];
	uint32_t entries, mask;
	uint32_t head;          /* the kernel's own: next SQE to consume */
};

/*
 * The completion side.  `owed` counts completions the kernel has promised
 * (operations admitted by rq_reserve and not yet posted) plus the backlog;
 * admission keeps owed <= bl_cap, so every completion finds a place: the
 * CQ if it has room, else the backlog.  None is ever dropped.
 */
struct rq {
	void *pages[RQ_MAX_PAGES];
	uint32_t entries, mask;
	uint32_t tail;          /* the kernel's own: next CQ slot to write */
	uint32_t head;          /* the program's head, as last validated */
	struct px_cqe *bl[RQ_BL_PAGES];
	uint32_t bl_cap;        /* backlog entries (2 x CQ entries) */
	uint32_t bl_head, bl_count;
	uint32_t owed;          /* reserved, not yet posted anywhere */
	bool corrupt;           /* a post found a bad head: report it once */
	/* counters for tests */
	uint64_t posted, overflowed;
};

/* Set up the SQ side; writes mask and entries into the shared header. */
void rsq_init(struct rsq *s, void *const pages[], uint32_t entries);
/* New SQEs the program published (tail - head), or -PX_EINVAL if its
 * tail is more than `entries` ahead of our head. */
int64_t rsq_available(struct rsq *s);
/* Copy the SQE at our head out of shared memory and advance (locally). */
void rsq_take(struct rsq *s, struct px_sqe *out);
/* Publish our head (store-release), after rsq_take calls. */
void rsq_publish(struct rsq *s);

/* Set up the CQ side (2 x sq_entries CQEs), with bl_cap backlog entries
 * in `bl` pages (bl_cap <= RQ_BL_MAX, a multiple of RQ_BL_PER_PAGE or
 * fitting the first page); writes mask and entries into the header. */
void rq_init(struct rq *q, void *const pages[], uint32_t sq_entries,
	     struct px_cqe *const bl[], uint32_t bl_cap);

/* Promise one completion: false (nothing reserved) if the promised
 * completions and the backlog together already fill the backlog. */
bool rq_reserve(struct rq *q);

/* Deliver a promised completion: into the CQ if the backlog is empty and
 * the program's head leaves room, else at the end of the backlog.
 * Completions reach the CQ in posting order. */
void rq_post(struct rq *q, uint64_t user_data, int64_t res);
/* The same in two steps, for a batch: rq_add each, then one rq_publish
 * (the CQ tail store-release) before the lock is dropped. */
void rq_add(struct rq *q, uint64_t user_data, int64_t res);
void rq_publish(struct rq *q);

/* Move backlog entries into the CQ while it has room.  -PX_EINVAL if the
 * program's head is corrupt (nothing moves then). */
int rq_flush(struct rq *q);

/* For ring_enter: flush, then -PX_EINVAL if the head is corrupt now or a
 * post saw it corrupt since the last call (reported once); else the
 * number of CQEs ready for the program (tail - head). */
int64_t rq_enter_check(struct rq *q);

/* CQEs ready for the program now, or -PX_EINVAL for a corrupt head. */
int64_t rq_ready(struct rq *q);

#endif /* KERNEL_RING_QUEUE_H */
