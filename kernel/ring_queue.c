/* Async rings, the shared-memory half: SQ fetch, CQ posting, overflow backlog, index checks. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "kernel/ring_queue.h"

/*
 * Shared words are accessed only through these, as 32-bit atomics (riscv64
 * has no byte or halfword atomics): the program's side of each protocol
 * pairs with them (see pollux.h).
 */
static inline uint32_t load_acquire(const unsigned int *w)
{
	return atomic_load_explicit((const _Atomic uint32_t *)w, memory_order_acquire);
}

static inline void store_release(unsigned int *w, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)w, v, memory_order_release);
}

static inline void store_relaxed(unsigned int *w, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)w, v, memory_order_relaxed);
}

static inline struct px_ring_hdr *hdr_of(void *const pages[])
{
	return (struct px_ring_hdr *)pages[0];
}

static inline char *byte_at(void *const pages[], uint32_t off)
{
	return (char *)pages[off / RQ_PAGE] + off % RQ_PAGE;
}

/* ---- SQ ------------------------------------------------------------------*/

void rsq_init(struct rsq *s, void *const pages[], uint32_t entries)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < rq_pages(rq_sq_bytes(entries)); i++)
		s->pages[i] = pages[i];
	s->entries = entries;
	s->mask = entries - 1;
	struct px_ring_hdr *h = hdr_of(s->pages);
	h->mask = s->mask;
	h->entries = entries;
}

int64_t rsq_available(struct rsq *s)
{
	/* LAB 7 BEGIN */
	uint32_t tail = load_acquire(&hdr_of(s->pages)->tail);
	uint32_t n = tail - s->head;
	return n > s->entries ? -PX_EINVAL : (int64_t)n;
	/* LAB 7 STUB
	// LAB 7: load-acquire the program's SQ tail and check it against our
	// head (docs/labs/lab7.md).  Until then: a corrupt ring.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement rsq_available (kernel/ring_queue.c)\n");
	}
	(void)s;
	return -PX_EINVAL;
	   LAB 7 END */
}

void rsq_take(struct rsq *s, struct px_sqe *out)
{
	/* LAB 7 BEGIN */
	uint32_t off = RQ_HDR_BYTES + (s->head & s->mask) * (uint32_t)sizeof(struct px_sqe);
	uint32_t first = RQ_PAGE - off % RQ_PAGE;
	/* The program may be writing it right now: one copy, then only the
	 * copy is looked at. */
	if (first >= sizeof(*out)) {
		/* The common case, 8-byte aligned: five word loads. */
		*out = *(const struct px_sqe *)(const void *)byte_at(s->pages, off);
		s->head++;
		return;
	}
	memcpy(out, byte_at(s->pages, off), first);
	if (first < sizeof(*out))
		memcpy((char *)out + first, byte_at(s->pages, off + first), sizeof(*out) - first);
	s->head++;
	/* LAB 7 STUB
	// LAB 7: copy the SQE at our head out of shared memory, once, and
	// advance our head (docs/labs/lab7.md).  Until then: a NOP.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement rsq_take (kernel/ring_queue.c)\n");
	}
	memset(out, 0, sizeof(*out));
	s->head++;
	   LAB 7 END */
}

void rsq_publish(struct rsq *s)
{
	store_release(&hdr_of(s->pages)->head, s->head);
}

/* ---- CQ ------------------------------------------------------------------*/

void rq_init(struct rq *q, void *const pages[], uint32_t sq_entries,
	     struct px_cqe *const bl[], uint32_t bl_cap)
{
	memset(q, 0, sizeof(*q));
	q->entries = 2 * sq_entries;
	q->mask = q->entries - 1;
	for (uint32_t i = 0; i < rq_pages(rq_cq_bytes(sq_entries)); i++)
		q->pages[i] = pages[i];
	for (uint32_t i = 0; i * RQ_BL_PER_PAGE < bl_cap; i++)
		q->bl[i] = bl[i];
	q->bl_cap = bl_cap;
	struct px_ring_hdr *h = hdr_of(q->pages);
	h->mask = q->mask;
	h->entries = q->entries;
}

static struct px_cqe *cqe_at(struct rq *q, uint32_t idx)
{
	uint32_t off = RQ_HDR_BYTES + (idx & q->mask) * (uint32_t)sizeof(struct px_cqe);
	return (struct px_cqe *)(void *)byte_at(q->pages, off);
}

static struct px_cqe *bl_at(struct rq *q, uint32_t i)
{
	i %= q->bl_cap;
	return &q->bl[i / RQ_BL_PER_PAGE][i % RQ_BL_PER_PAGE];
}

/*
 * Read the program's head once and check it: it may only have moved
 * forward from the last valid value, and not past our tail.  On success
 * q->head takes it and the free CQ slots are returned; -1 if corrupt.
 * (The acquire orders the program's reads of the entries it released
 * before our writes into those slots.)
 */
static int64_t load_head(struct rq *q)
{
	/* LAB 7 BEGIN */
	uint32_t h = load_acquire(&hdr_of(q->pages)->head);
	uint32_t posted = q->tail - q->head;   /* what the program may release */
	if (h - q->head > posted)
		return -1;
	q->head = h;
	return (int64_t)(q->entries - (q->tail - h));
	/* LAB 7 STUB
	// LAB 7: load-acquire the program's CQ head, check it, take it
	// (docs/labs/lab7.md).  Until then: always corrupt.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement load_head (kernel/ring_queue.c)\n");
	}
	(void)q;
	return -1;
	   LAB 7 END */
}

static void write_cqe(struct rq *q, uint64_t user_data, int64_t res)
{
	struct px_cqe *c = cqe_at(q, q->tail);
	c->user_data = user_data;
	c->res = res;
	q->tail++;
	q->posted++;
}

/* Tell the program about the backlog, then publish the tail: a program
 * that sees the new tail also sees flags/overflow at least this fresh. */
static void publish(struct rq *q)
{
	/* LAB 7 BEGIN */
	struct px_ring_hdr *h = hdr_of(q->pages);
	store_relaxed(&h->overflow, q->bl_count);
	store_relaxed(&h->flags, q->bl_count ? PX_RING_CQ_OVERFLOW : 0);
	store_release(&h->tail, q->tail);
	/* LAB 7 STUB
	// LAB 7: overflow and flags, then store-release the CQ tail
	// (docs/labs/lab7.md).  Until then the program sees nothing.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement publish (kernel/ring_queue.c)\n");
	}
	(void)q;
	   LAB 7 END */
}

bool rq_reserve(struct rq *q)
{
	if (q->owed + q->bl_count >= q->bl_cap)
		return false;
	q->owed++;
	return true;
}

/* Move what fits; returns the free slots left, or -1 for a corrupt head. */
static int64_t flush(struct rq *q)
{
	int64_t room = load_head(q);
	if (room < 0) {
		q->corrupt = true;
		return -1;
	}
	while (q->bl_count && room > 0) {
		struct px_cqe *b = bl_at(q, q->bl_head);
		write_cqe(q, b->user_data, b->res);
		q->bl_head = (q->bl_head + 1) % q->bl_cap;
		q->bl_count--;
		room--;
	}
	return room;
}

void rq_post(struct rq *q, uint64_t user_data, int64_t res)
{
	rq_add(q, user_data, res);
	publish(q);
}

void rq_publish(struct rq *q)
{
	publish(q);
}

void rq_add(struct rq *q, uint64_t user_data, int64_t res)
{
	/* LAB 7 BEGIN */
	if (q->owed)
		q->owed--;
	int64_t room = flush(q);
	if (q->bl_count == 0 && room > 0) {
		write_cqe(q, user_data, res);
	} else {
		/* Admission guarantees room here (owed + bl_count <= bl_cap). */
		struct px_cqe *b = bl_at(q, q->bl_head + q->bl_count);
		b->user_data = user_data;
		b->res = res;
		q->bl_count++;
		q->overflowed++;
	}
	/* LAB 7 STUB
	// LAB 7: deliver a promised completion to the CQ or, if it is full,
	// to the backlog (docs/labs/lab7.md).  Until then it is lost.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 7: implement rq_add (kernel/ring_queue.c)\n");
	}
	(void)q;
	(void)user_data;
	(void)res;
	   LAB 7 END */
}

int rq_flush(struct rq *q)
{
	uint32_t before = q->tail, bl = q->bl_count;
	int64_t room = flush(q);
	if (q->tail != before || q->bl_count != bl)
		publish(q);
	return room < 0 ? -PX_EINVAL : 0;
}

int64_t rq_ready(struct rq *q)
{
	int64_t room = load_head(q);
	return room < 0 ? -PX_EINVAL : (int64_t)(q->tail - q->head);
}

int64_t rq_enter_check(struct rq *q)
{
	bool was = q->corrupt;
	q->corrupt = false;
	if (rq_flush(q) < 0 || was) {
		q->corrupt = false;
		return -PX_EINVAL;
	}
	return rq_ready(q);
}
