/* virtio-blk over MMIO: interrupt-driven block requests that are futures. */
#ifndef KERNEL_VIRTIO_BLK_H
#define KERNEL_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/future.h"
#include "kernel/virtq.h"

struct machine;

#define BLK_SECTOR_SIZE 512

/* Results: 0 or one of these (negative, errno-like values). */
#define BLK_OK      0
#define BLK_EIO     (-5)   /* the device reported an I/O error, or broke */
#define BLK_EAGAIN  (-11)  /* a nowait request found the device queue full */
#define BLK_EBUSY   (-16)  /* the request is already in use */
#define BLK_ENODEV  (-19)  /* no usable block device */
#define BLK_EINVAL  (-22)  /* zero sectors, or too many for one request */
#define BLK_EROFS   (-30)  /* write to a read-only device */
#define BLK_ERANGE  (-34)  /* beyond the end of the disk */
#define BLK_EUNSUPP (-95)  /* the device does not support the request */

/* The most sectors one request may carry (the data is one descriptor). */
#define BLK_MAX_SECTORS 256

/*
 * A request is a future.  Lifecycle (the state word of struct blk_req):
 *
 *   blk_read_init / blk_write_init
 *        │
 *        ▼       poll: no free descriptors          descriptors freed:
 *      NEW ─────────────────────────────────► WAIT  the IRQ handler wakes
 *        │                                      │   the first waiters
 *        │ poll: range ok, 3 descriptors free   │ poll: now free
 *        ▼                                      │
 *     INFLIGHT ◄────────────────────────────────┘
 *        │ IRQ handler: a checked used-ring entry names our chain;
 *        │ sets result from the status byte, frees the chain, wakes us
 *        ▼
 *      DONE  ── poll returns Ready; result in r->result
 *
 * A request that fails its checks (range, size, no device) goes straight
 * from NEW to DONE without touching the device.
 *
 * Dropping (blk_req_drop / the future's drop):
 *   NEW, DONE  nothing to release;
 *   WAIT       leaves the waiter list (and passes its turn on);
 *   INFLIGHT   detaches: the driver frees the chain when the device answers
 *              and wakes no one.  Safety: the device still owns `buf`
 *              until then; keep it valid until blk_inflight() is 0.
 */
enum blk_req_state {
	BLK_REQ_NEW = 0,
	BLK_REQ_WAIT,
	BLK_REQ_INFLIGHT,
	BLK_REQ_DONE,
};

struct blk_req {
	struct future base;     /* so a task can own one: poll + drop */
	uint8_t state;          /* enum blk_req_state */
	bool write;
	bool unchecked;         /* tests only: skip the end-of-disk check */
	bool nowait;            /* fail with BLK_EAGAIN rather than wait for room */
	uint16_t slot;          /* driver slot (header + status), while INFLIGHT */
	uint32_t count;         /* sectors */
	uint64_t sector;
	void *buf;
	int result;             /* valid once Ready: 0 or BLK_E* */
	struct waker waker;     /* woken on completion or free descriptors */
	struct blk_req *wait_next, *wait_prev; /* waiter list, while WAIT */
};

/* Probe every machine.virtio slot; set up the first virtio 1.x block
 * device found and register its interrupt on hart 0.  Prints one line.
 * Returns 0 or BLK_ENODEV.  Call once, after the interrupt controller. */
int blk_init(const struct machine *mach);

/* Disk size in 512-byte sectors; 0 without a device. */
uint64_t blk_capacity(void);

/* Prepare a request for `count` sectors at `sector` into/from `buf`.
 * Nothing happens until the first poll.  Safety: `buf` (count * 512
 * bytes) and *r stay valid, and *r does not move, until the request is
 * Ready or dropped (see the lifecycle above for a drop in flight). */
void blk_read_init(struct blk_req *r, uint64_t sector, void *buf, uint32_t count);
void blk_write_init(struct blk_req *r, uint64_t sector, const void *buf, uint32_t count);

/* Drive the request: Ready once r->result holds the outcome. */
enum poll blk_req_poll(struct blk_req *r, struct context *cx);

/* Release what the request holds in its current state (see above). */
void blk_req_drop(struct blk_req *r);

/* Plugging, as in Linux's block layer: between blk_plug and blk_unplug,
 * submissions fill the ring without ringing the doorbell; blk_unplug
 * rings it once, so the device starts the whole batch together (and QEMU
 * takes one exit instead of one per request).  Nests.  Never hold a plug
 * across a wait: requests behind it are not started until the unplug. */
void blk_plug(void);
void blk_unplug(void);

/* Requests in flight at the device right now. */
unsigned blk_inflight(void);
/* How many requests the queue carries at once (its descriptors / 3). */
unsigned blk_queue_requests(void);

/* The driver's bookkeeping is consistent (descriptors, slots, waiters).
 * For tests. */
bool blk_selfcheck(void);

const char *blk_strerror(int err);

/* Take every completion the device has posted and wake the finished
 * requests: what the completion interrupt does (it also acknowledges the
 * interrupt status).  Harmless when nothing is pending; any context. */
void blk_complete(void);

/*
 * The walk of the used ring that blk_complete runs, with the driver's
 * lock held: virtq_process_used on the driver's queue, always, in the
 * kernel.  It is a pointer so a test can wrap it at run time and play a
 * confused device, rewriting an entry before the real walk sees it
 * (kernel/ktest/drv.c).  Change it only while no request is in flight.
 */
extern unsigned (*blk_walk_used)(struct virtq *q, virtq_done_fn done, void *arg);

struct blk_stats {
	uint64_t requests;     /* submitted to the device */
	uint64_t completions;  /* accepted completions (all statuses) */
	uint64_t errors;       /* completions whose status was not OK */
	uint64_t malformed;    /* used-ring entries rejected */
	uint64_t interrupts;   /* handler invocations */
	uint64_t waits;        /* requests that had to wait for room */
	uint64_t waiter_wakes; /* descriptor waiters woken by freed room */
	uint64_t notifies;     /* doorbell writes */
	uint64_t rejected;     /* requests refused before submission */
	unsigned inflight_max; /* high-water mark of requests in flight */
};
extern struct blk_stats blk_stats;

#endif /* KERNEL_VIRTIO_BLK_H */
