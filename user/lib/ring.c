/* Ring set-up for the user side of the async syscall rings (the fast path is inline in px_ring.h). */
#include <stdint.h>

#include "px_ring.h"

/* ring_setup, then check what the kernel handed back before trusting it:
 * power-of-two sizes as asked, CQ twice the SQ, room for an operation.  Our indices start where the kernel's do. */
long px_ring_init(struct px_ring *r, unsigned entries)
{
	struct px_ring_params p = { 0, 0, 0, 0, 0, 0 };
	long rc = px_ring_setup(entries, &p);

	if (rc < 0)
		return rc;
	if (p.sq_entries == 0 || (p.sq_entries & (p.sq_entries - 1)) != 0 ||
	    p.cq_entries != 2 * p.sq_entries || p.sq_va == 0 || p.cq_va == 0 ||
	    p.ops_max == 0)
		return -PX_EINVAL;
	r->sq = (struct px_ring_hdr *)(uintptr_t)p.sq_va;
	r->cq = (struct px_ring_hdr *)(uintptr_t)p.cq_va;
	r->sqes = (struct px_sqe *)(void *)(r->sq + 1);
	r->cqes = (struct px_cqe *)(void *)(r->cq + 1);
	r->sq_entries = p.sq_entries;
	r->cq_entries = p.cq_entries;
	r->ops_max = p.ops_max;
	r->sq_mask = p.sq_entries - 1;
	r->cq_mask = p.cq_entries - 1;
	r->sq_tail = px_ring_load_acquire(&r->sq->tail);
	r->cq_head = px_ring_load_acquire(&r->cq->head);
	return 0;
}
