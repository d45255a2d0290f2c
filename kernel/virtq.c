/* A split virtqueue: descriptor chains, submission and a checked walk of the used ring. */
#include <stdio.h>
#include <string.h>

#include "kernel/mmio.h"
#include "kernel/virtq.h"

static void no_barrier(void)
{
}

int virtq_init(struct virtq *q, unsigned num)
{
	/* Power of two so that slot = idx % num stays continuous when the
	 * 16-bit free-running indices wrap. */
	if (num == 0 || num > VIRTQ_MAX || (num & (num - 1)) != 0)
		return -1;
	memset(q, 0, sizeof(*q));
	q->num = (uint16_t)num;
	q->nfree = (uint16_t)num;
	for (unsigned i = 0; i < num; i++)
		q->link[i] = (uint16_t)(i + 1);
	q->free_head = 0;
	q->barrier = no_barrier;
	return 0;
}

int virtq_submit(struct virtq *q, const struct virtq_buf *bufs, unsigned n,
		 void *cookie)
{
	/* LAB 5 BEGIN */
	if (q->broken || n == 0 || n > q->nfree || !cookie)
		return -1;

	/* The chain is the first n entries of the free list, already linked
	 * through link[]; desc[].next is the device's copy of those links. */
	uint16_t head = q->free_head, d = head;
	uint32_t wlen = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i > 0) {
			q->desc[d].next = q->link[d];
			d = q->link[d];
		}
		q->desc[d].addr = bufs[i].pa;
		q->desc[d].len = bufs[i].len;
		q->desc[d].flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					      (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		q->desc[d].next = 0;
		q->state[d] = i == 0 ? VIRTQ_D_HEAD : VIRTQ_D_BODY;
		if (bufs[i].device_writes)
			wlen += bufs[i].len;
	}
	q->free_head = q->link[d];
	q->nfree = (uint16_t)(q->nfree - n);
	q->chain_len[head] = (uint8_t)n;
	q->wlen[head] = wlen;
	q->cookie[head] = cookie;

	q->avail.ring[q->avail_idx % q->num] = head;
	/* The device may read the ring entry as soon as it sees the index. */
	q->barrier();
	q->avail_idx++;
	*(volatile uint16_t *)&q->avail.idx = q->avail_idx;
	q->inflight++;
	q->stats.submitted++;
	return head;
	/* LAB 5 STUB
	// LAB 5: build the chain and publish it (docs/labs/lab5.md).  Until
	// then nothing is submitted: the block driver fails every request
	// with BLK_EIO.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 5: implement virtq_submit (kernel/virtq.c)\n");
	}
	(void)q;
	(void)bufs;
	(void)n;
	(void)cookie;
	return -1;
	   LAB 5 END */
}

/* Return the chain at `head` to the free list (its order is kept, so a
 * later chain of the same length reuses the same descriptors). */
static void free_chain(struct virtq *q, uint16_t head)
{
	uint16_t last = head;
	for (unsigned k = 0; k < q->chain_len[head]; k++) {
		q->state[last] = VIRTQ_D_FREE;
		if (k + 1 < q->chain_len[head])
			last = q->link[last];
	}
	q->link[last] = q->nfree ? q->free_head : 0;
	q->free_head = head;
	q->nfree = (uint16_t)(q->nfree + q->chain_len[head]);
	q->chain_len[head] = 0;
	q->wlen[head] = 0;
	q->cookie[head] = NULL;
	q->inflight--;
}

/* LAB 5 BEGIN */
static void fault(struct virtq *q, enum virtq_fault_kind kind, uint16_t used_idx,
		  uint16_t slot, uint32_t id, uint32_t len, uint32_t limit)
{
	struct virtq_fault f = { kind, used_idx, slot, id, len, limit };
	q->stats.malformed++;
	if (q->report)
		q->report(q->report_arg, &f);
}

unsigned virtq_process_used(struct virtq *q, virtq_done_fn done, void *arg)
{
	const volatile struct virtq_used *u = &q->used;
	unsigned accepted = 0;

	if (q->broken)
		return 0;
	uint16_t idx = u->idx;
	/* Entries up to idx are written before idx (the device's side of
	 * the protocol); do not let our entry loads pass the index load. */
	q->barrier();
	if ((uint16_t)(idx - q->last_used) > q->num) {
		/* More completions than the ring holds: the index is garbage,
		 * so is every entry it would have us read. */
		fault(q, VIRTQ_FAULT_IDX_JUMP, idx, q->last_used, 0,
		      (uint16_t)(idx - q->last_used), q->num);
		q->broken = true;
		return 0;
	}
	while (q->last_used != idx) {
		uint16_t slot = q->last_used++;
		uint32_t id = u->ring[slot % q->num].id;
		uint32_t len = u->ring[slot % q->num].len;

		if (id >= q->num) {
			fault(q, VIRTQ_FAULT_ID_RANGE, idx, slot, id, len, q->num);
			continue;
		}
		if (q->state[id] != VIRTQ_D_HEAD) {
			fault(q, VIRTQ_FAULT_NOT_INFLIGHT, idx, slot, id, len, 0);
			continue;
		}
		if (len > q->wlen[id]) {
			fault(q, VIRTQ_FAULT_LEN, idx, slot, id, len, q->wlen[id]);
			continue;
		}
		void *cookie = q->cookie[id];
		free_chain(q, (uint16_t)id);
		q->stats.completed++;
		accepted++;
		done(arg, cookie, len);
	}
	return accepted;
}
/* LAB 5 STUB
// LAB 5: walk and check the used ring (docs/labs/lab5.md).  Until then
// the queue is declared broken at the first completion: the block driver
// resets the device and fails every request with BLK_EIO.
unsigned virtq_process_used(struct virtq *q, virtq_done_fn done, void *arg)
{
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 5: implement virtq_process_used (kernel/virtq.c)\n");
	}
	(void)done;
	(void)arg;
	q->broken = true;
	return 0;
}
   LAB 5 END */

unsigned virtq_cancel_all(struct virtq *q, virtq_done_fn done, void *arg)
{
	unsigned n = 0;
	for (uint16_t i = 0; i < q->num; i++) {
		if (q->state[i] != VIRTQ_D_HEAD)
			continue;
		void *cookie = q->cookie[i];
		free_chain(q, i);
		n++;
		done(arg, cookie, 0);
	}
	return n;
}

bool virtq_check(const struct virtq *q)
{
	uint8_t seen[VIRTQ_MAX] = { 0 };
	unsigned heads = 0, used = 0;

	/* The free list: nfree distinct FREE descriptors. */
	uint16_t d = q->free_head;
	for (unsigned k = 0; k < q->nfree; k++) {
		if (d >= q->num || seen[d] || q->state[d] != VIRTQ_D_FREE)
			return false;
		seen[d] = 1;
		d = q->link[d];
	}
	/* Each head: chain_len descriptors, a HEAD then BODYs, matching the
	 * links the device sees. */
	for (uint16_t h = 0; h < q->num; h++) {
		if (q->state[h] != VIRTQ_D_HEAD)
			continue;
		heads++;
		if (q->chain_len[h] == 0 || !q->cookie[h])
			return false;
		d = h;
		for (unsigned k = 0; k < q->chain_len[h]; k++) {
			if (d >= q->num || seen[d])
				return false;
			if (q->state[d] != (k == 0 ? VIRTQ_D_HEAD : VIRTQ_D_BODY))
				return false;
			bool more = k + 1 < q->chain_len[h];
			if (!!(q->desc[d].flags & VIRTQ_DESC_F_NEXT) != more)
				return false;
			if (more && q->desc[d].next != q->link[d])
				return false;
			seen[d] = 1;
			used++;
			d = q->link[d];
		}
	}
	for (uint16_t i = 0; i < q->num; i++) {
		if (!seen[i])
			return false; /* in no list: leaked, or a BODY without a head */
		if (q->state[i] != VIRTQ_D_HEAD && q->cookie[i])
			return false;
	}
	return heads == q->inflight && used + q->nfree == q->num;
}

const char *virtq_fault_str(enum virtq_fault_kind k)
{
	switch (k) {
	case VIRTQ_FAULT_IDX_JUMP:
		return "used.idx advanced by more than the queue size";
	case VIRTQ_FAULT_ID_RANGE:
		return "id out of range";
	case VIRTQ_FAULT_NOT_INFLIGHT:
		return "id is not the head of a chain in flight";
	case VIRTQ_FAULT_LEN:
		return "len larger than the chain's writable bytes";
	}
	return "unknown fault";
}

/* ---- device initialisation over MMIO --------------------------------------*/

static void status_set(uintptr_t base, uint32_t bits)
{
	mmio_write32(base + VIRTIO_MMIO_STATUS, mmio_read32(base + VIRTIO_MMIO_STATUS) | bits);
}

const char *virtio_mmio_negotiate(uintptr_t base, uint64_t optional, uint64_t *feat)
{
	/* Reset.  The spec has the driver wait for Status to read 0; QEMU
	 * resets synchronously, so this is bounded and normally one read. */
	mmio_write32(base + VIRTIO_MMIO_STATUS, 0);
	int spins = 0;
	while (mmio_read32(base + VIRTIO_MMIO_STATUS) != 0)
		if (++spins > 1000)
			return "device did not reset";
	status_set(base, VIRTIO_STATUS_ACKNOWLEDGE);
	status_set(base, VIRTIO_STATUS_DRIVER);

	mmio_write32(base + VIRTIO_MMIO_DEV_FEATURES_SEL, 1);
	uint64_t offered = (uint64_t)mmio_read32(base + VIRTIO_MMIO_DEV_FEATURES) << 32;
	mmio_write32(base + VIRTIO_MMIO_DEV_FEATURES_SEL, 0);
	offered |= mmio_read32(base + VIRTIO_MMIO_DEV_FEATURES);
	if (!(offered & (1ull << VIRTIO_F_VERSION_1)))
		return "device does not offer VIRTIO_F_VERSION_1";
	uint64_t want = (1ull << VIRTIO_F_VERSION_1) | (offered & optional);
	mmio_write32(base + VIRTIO_MMIO_DRV_FEATURES_SEL, 0);
	mmio_write32(base + VIRTIO_MMIO_DRV_FEATURES, (uint32_t)want);
	mmio_write32(base + VIRTIO_MMIO_DRV_FEATURES_SEL, 1);
	mmio_write32(base + VIRTIO_MMIO_DRV_FEATURES, (uint32_t)(want >> 32));
	status_set(base, VIRTIO_STATUS_FEATURES_OK);
	if (!(mmio_read32(base + VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return "device refused our features";
	*feat = want;
	return NULL;
}
