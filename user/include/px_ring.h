/* A thin user-side wrapper of the async syscall rings: set up, fill SQEs, submit, reap CQEs. */
#ifndef USER_INCLUDE_PX_RING_H
#define USER_INCLUDE_PX_RING_H

#include <stddef.h>
#include <stdint.h>

#include "pollux.h"

/*
 * The protocol is lib/uapi/pollux.h's ("Async rings"); this header only
 * spells it in C with the barriers in the right places, so nobody writes
 * them twice.  Everything on the fast path is static inline: a NOP round
 * trip costs the SQE stores, one store-release, the syscall, one
 * load-acquire, the CQE loads and one store-release.
 *
 *   program                                  kernel
 *   -------                                  ------
 *   sqe = px_ring_get_sqe(r)  (fill it)
 *   px_ring_submit(r, min, timeout):
 *     store-release sq.tail  ------------->  load-acquire sq.tail
 *     ring_enter(unsubmitted, min, t)        consume [its head, tail),
 *                                            store-release sq.head
 *                                            ... complete: write CQE,
 *   cqe = px_ring_peek_cqe(r)  <----------   store-release cq.tail
 *     (load-acquire cq.tail)
 *   copy what you need out of *cqe, then
 *   px_ring_cq_advance(r, n)  ------------>  (slots reusable)
 *     (store-release cq.head)
 *
 * Our copies of the indices (sq_tail, cq_head) and of the sizes are the
 * truth on our side: shared memory is only read for the other side's
 * index (sq.head, cq.tail), never for sizes the kernel could have moved.
 * Single-threaded use: one thread owns a struct px_ring.
 *
 * Minimal use (what a benchmark needs):
 *
 *   struct px_ring r;
 *   if (px_ring_init(&r, 32) < 0) ...
 *   px_sqe_prep(px_ring_get_sqe(&r), PX_OP_NOP, 0, 0, 0, 0, 7);
 *   px_ring_submit(&r, 1, PX_RING_FOREVER);     one syscall
 *   struct px_cqe *c = px_ring_peek_cqe(&r);   c->user_data == 7, c->res == 0
 *   px_ring_cq_advance(&r, 1);
 */

/* The raw syscalls (user/lib/syscall.c; px.h declares them too, but this
 * header stays free of px.h so host tests can include it). */
long px_ring_setup(unsigned entries, struct px_ring_params *p);
long px_ring_enter(unsigned to_submit, unsigned min_complete, uint64_t timeout_ns);

struct px_ring {
	struct px_ring_hdr *sq, *cq;    /* shared headers */
	struct px_sqe *sqes;            /* sq_entries entries after sq */
	struct px_cqe *cqes;            /* cq_entries entries after cq */
	uint32_t sq_mask, cq_mask;      /* our copies: entries - 1 */
	uint32_t sq_entries, cq_entries;
	uint32_t ops_max;               /* operations the kernel runs at once */
	uint32_t sq_tail;               /* next SQE we fill (published on submit) */
	uint32_t cq_head;               /* next CQE we read */
};

/* ring_setup(entries) and fill *r.  0, or -PX_Exxx (-PX_EBUSY: this
 * process already has its ring, e.g. the reactor's: px_reactor_ring()). */
long px_ring_init(struct px_ring *r, unsigned entries);

static inline uint32_t px_ring_load_acquire(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void px_ring_store_release(unsigned int *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* SQEs filled but not yet consumed by the kernel (published or not). */
static inline uint32_t px_ring_unsubmitted(const struct px_ring *r)
{
	return r->sq_tail - px_ring_load_acquire(&r->sq->head);
}

/* The next free SQE (its fields are stale: fill every one, px_sqe_prep),
 * or NULL if the SQ is full (submit first).  The kernel sees it only
 * after px_ring_publish / px_ring_submit. */
static inline struct px_sqe *px_ring_get_sqe(struct px_ring *r)
{
	if (px_ring_unsubmitted(r) >= r->sq_entries)
		return NULL;
	return &r->sqes[r->sq_tail++ & r->sq_mask];
}

/* Fill every field of an SQE, padding included. */
static inline void px_sqe_prep(struct px_sqe *s, unsigned op, int fd,
                               uint64_t off, uint64_t addr, uint32_t len,
                               uint64_t user_data)
{
	s->op = (unsigned char)op;
	s->flags = 0;
	s->_pad = 0;
	s->fd = fd;
	s->off = off;
	s->addr = addr;
	s->len = len;
	s->_pad2 = 0;
	s->user_data = user_data;
}

/* Make the filled SQEs visible: store-release of sq.tail (the SQE stores
 * happen before it). */
static inline void px_ring_publish(struct px_ring *r)
{
	px_ring_store_release(&r->sq->tail, r->sq_tail);
}

/* Publish, then ring_enter(every unsubmitted SQE, min_complete, timeout).
 * Returns ring_enter's result: SQEs consumed, or -PX_Exxx. */
static inline long px_ring_submit(struct px_ring *r, unsigned min_complete,
                                  uint64_t timeout_ns)
{
	px_ring_publish(r);
	return px_ring_enter(px_ring_unsubmitted(r), min_complete, timeout_ns);
}

/* CQEs ready to read (load-acquire of cq.tail: their contents are
 * visible once this returned them). */
static inline uint32_t px_ring_cq_ready(const struct px_ring *r)
{
	return px_ring_load_acquire(&r->cq->tail) - r->cq_head;
}

/* The i-th ready CQE (i < px_ring_cq_ready). */
static inline struct px_cqe *px_ring_cqe_at(struct px_ring *r, uint32_t i)
{
	return &r->cqes[(r->cq_head + i) & r->cq_mask];
}

/* The oldest ready CQE, or NULL. */
static inline struct px_cqe *px_ring_peek_cqe(struct px_ring *r)
{
	return px_ring_cq_ready(r) ? px_ring_cqe_at(r, 0) : NULL;
}

/* Give n read CQEs back to the kernel (store-release of cq.head: our
 * loads of them happen before).  Copy what you need out of them first. */
static inline void px_ring_cq_advance(struct px_ring *r, uint32_t n)
{
	r->cq_head += n;
	px_ring_store_release(&r->cq->head, r->cq_head);
}

/* True if completions wait in the kernel for room in the CQ. */
static inline int px_ring_cq_overflowed(const struct px_ring *r)
{
	return (px_ring_load_acquire(&r->cq->flags) & PX_RING_CQ_OVERFLOW) != 0;
}

#endif /* USER_INCLUDE_PX_RING_H */
