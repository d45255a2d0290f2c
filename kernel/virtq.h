/* A split virtqueue: descriptor chains, submission and a checked walk of the used ring. */
#ifndef KERNEL_VIRTQ_H
#define KERNEL_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/virtio.h"

/*
 * Device-independent and arch-free (the host unit tests build it): the
 * caller supplies the memory barrier and a fault reporter, and does the
 * MMIO (setup, doorbell, interrupt acknowledge) itself.  Not locked: the
 * caller serialises every call on one queue (the block driver masks
 * interrupts, and would take its spin lock on SMP).
 *
 * Ownership of a descriptor (driver-private state[], never read back from
 * shared memory, so a confused device cannot corrupt the driver's view):
 *
 *             virtq_submit              device: used entry, checked by
 *    FREE ───────────────────► HEAD/BODY ─────────────────────────► FREE
 *      ▲      (publishes the chain        virtq_process_used
 *      │       in the available ring)            │
 *      └──────────── virtq_cancel_all ◄──────────┘ (only after a device
 *                                                   reset: DMA has stopped)
 *
 * The used ring is the only thing the driver reads from the device.  Each
 * entry is checked before anything is trusted:
 *   - used.idx may advance by at most `num` since we last looked; more is
 *     impossible for a working device, so the queue is marked broken and
 *     nothing in it is believed;
 *   - id must be < num and name the head of a chain that is in flight
 *     (a free descriptor, a chain's middle or a second completion of the
 *     same chain are all rejected);
 *   - len must not exceed the device-writable bytes of that chain.
 * A rejected entry is reported and skipped: no chain is freed and no one
 * is woken on its say-so.
 */

/* One buffer of a chain: physical address, length, direction. */
struct virtq_buf {
	uint64_t pa;
	uint32_t len;
	bool device_writes;
};

enum virtq_fault_kind {
	VIRTQ_FAULT_IDX_JUMP = 1, /* used.idx advanced by more than num */
	VIRTQ_FAULT_ID_RANGE,     /* id >= num */
	VIRTQ_FAULT_NOT_INFLIGHT, /* id is not the head of a chain in flight */
	VIRTQ_FAULT_LEN,          /* len larger than the chain's writable bytes */
};

/* What a fault report carries: enough to print one useful line. */
struct virtq_fault {
	enum virtq_fault_kind kind;
	uint16_t used_idx;   /* the device's used.idx when we looked */
	uint16_t slot;       /* free-running used index of the entry */
	uint32_t id;
	uint32_t len;
	uint32_t limit;      /* num for ID_RANGE/IDX_JUMP, writable bytes for LEN */
};

enum { VIRTQ_D_FREE = 0, VIRTQ_D_HEAD, VIRTQ_D_BODY };

struct virtq {
	/* Shared with the device (addresses go to QueueDesc/Driver/Device). */
	_Alignas(16) struct virtq_desc desc[VIRTQ_MAX];
	_Alignas(4) struct virtq_avail avail;
	_Alignas(4) struct virtq_used used;

	/* Driver-private. */
	uint16_t num;        /* queue size, a power of two <= VIRTQ_MAX */
	uint16_t nfree;      /* free descriptors */
	uint16_t free_head;  /* first free descriptor (if nfree) */
	uint16_t avail_idx;  /* our copy of avail.idx */
	uint16_t last_used;  /* next used slot to examine */
	uint16_t inflight;   /* chains submitted and not yet completed */
	bool broken;         /* the device broke the protocol: trust nothing */
	uint16_t link[VIRTQ_MAX];      /* free list, or the next in a chain */
	uint8_t state[VIRTQ_MAX];      /* VIRTQ_D_* */
	uint8_t chain_len[VIRTQ_MAX];  /* at a head: descriptors in its chain */
	uint32_t wlen[VIRTQ_MAX];      /* at a head: device-writable bytes */
	void *cookie[VIRTQ_MAX];       /* at a head: the submitter's pointer */

	/* Caller-supplied.  barrier: ring stores before the index store and
	 * the doorbell, index load before entry loads (arch_io_barrier in
	 * the kernel).  report: one call per rejected entry. */
	void (*barrier)(void);
	void (*report)(void *arg, const struct virtq_fault *f);
	void *report_arg;

	struct {
		uint64_t submitted;
		uint64_t completed;
		uint64_t malformed;
	} stats;
};

/* Called for each accepted completion, after its chain is free again. */
typedef void (*virtq_done_fn)(void *arg, void *cookie, uint32_t len);

/* Empty queue of `num` entries (a power of two, 1..VIRTQ_MAX); zeroes the
 * shared areas.  Returns 0, or -1 for a bad num.  barrier and report must
 * be set afterwards (report may stay NULL). */
int virtq_init(struct virtq *q, unsigned num);

/* Chain `n` buffers (device-readable ones first, as the spec requires),
 * remember `cookie` (non-NULL) at its head and publish it in the
 * available ring.  The caller then rings the doorbell.  Returns the head,
 * or -1 if fewer than n descriptors are free (or the queue is broken). */
int virtq_submit(struct virtq *q, const struct virtq_buf *bufs, unsigned n,
		 void *cookie);

/* Examine the used ring from last_used to used.idx; for every accepted
 * entry free its chain and call done(arg, cookie, len).  Rejected entries
 * go to q->report.  Returns the number of accepted entries. */
unsigned virtq_process_used(struct virtq *q, virtq_done_fn done, void *arg);

/* Free every chain in flight and call done(arg, cookie, 0) for each.
 * Safety: only after the device has been reset (it no longer touches the
 * rings or the buffers). */
unsigned virtq_cancel_all(struct virtq *q, virtq_done_fn done, void *arg);

/* Check the private bookkeeping: every descriptor is free or in exactly
 * one chain, counts agree.  For tests and assertions. */
bool virtq_check(const struct virtq *q);

const char *virtq_fault_str(enum virtq_fault_kind k);

/*
 * The first steps of a virtio 1.x driver's initialisation over MMIO (spec
 * 3.1.1, 4.2.3.2), the same for every device: reset the device at base and
 * wait (bounded) for Status to read 0; set ACKNOWLEDGE and DRIVER; read the
 * 64 feature bits the device offers and require VIRTIO_F_VERSION_1; accept
 * VERSION_1 plus the offered bits of `optional`; set FEATURES_OK and check
 * that the device kept it.  Returns NULL with the accepted bits in *feat,
 * or why it failed (the driver reports it and sets FAILED).
 */
const char *virtio_mmio_negotiate(uintptr_t base, uint64_t optional, uint64_t *feat);

#endif /* KERNEL_VIRTQ_H */
