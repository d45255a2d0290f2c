/* virtio-net over MMIO: a receive queue kept filled, a transmit queue with room to wait for. */
#ifndef KERNEL_VIRTIO_NET_H
#define KERNEL_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor/notify.h"
#include "kernel/virtq.h"

struct machine;

/* The largest Ethernet frame carried (no VLAN tag, no FCS: the device
 * strips it), and the smallest one accepted from the device. */
#define VNET_FRAME_MAX 1514
#define VNET_FRAME_MIN 14

/* Results (negative, errno-like). */
#define VNET_OK      0
#define VNET_EAGAIN  (-11)  /* no transmit buffer free: wait on vnet_tx_room */
#define VNET_ENODEV  (-19)  /* no usable network device */
#define VNET_EINVAL  (-22)  /* frame shorter than a header or longer than VNET_FRAME_MAX */
#define VNET_EIO     (-5)   /* the device broke the protocol and was reset */

/*
 * Receive: at start-up every receive descriptor holds a buffer.  The
 * interrupt handler walks the used ring (checked by virtq), checks each
 * completion's length, and files good frames in a ready list in arrival
 * order; then notify_one(&vnet_rx_ready) wakes the stack's task.  That task
 * reads each frame where the device wrote it (vnet_rx_peek) and then gives
 * the buffer back (vnet_rx_next), which posts it to the device at once, so
 * the queue is refilled as fast as it is drained.  A
 * completion that is too short for the virtio-net header plus an Ethernet
 * header is reported, counted in rx_malformed and its buffer reposted.
 *
 * Transmit: vnet_tx copies the frame into a free transmit buffer and
 * submits it, or returns VNET_EAGAIN.  Completions free buffers in the
 * interrupt handler, which then notify_all(&vnet_tx_room): a writer that
 * got VNET_EAGAIN awaits a notified() created *before* its vnet_tx attempt
 * (so a completion between the two is not lost) and retries.
 *
 * Nothing polls the device: both directions are driven by its interrupt.
 */
extern struct notify vnet_rx_ready;
extern struct notify vnet_tx_room;

/* Probe every machine.virtio slot; set up the first virtio 1.x network
 * device and register its interrupt on hart 0.  Prints one line if it
 * finds one.  Returns 0 or VNET_ENODEV.  Call once, after the interrupt controller. */
int vnet_init(const struct machine *mach);

/* True once a device is running. */
bool vnet_present(void);

/* The device's MAC address (from its configuration, or the default QEMU
 * assigns, 52:54:00:12:34:56, if the device offers none). */
void vnet_mac(uint8_t mac[6]);

/* The oldest received frame, in the device's buffer (its length in *len),
 * or NULL if none is waiting; it stays there, unchanged, until
 * vnet_rx_next gives the buffer back to the device (or, for a frame the
 * loss injector duplicated, moves on to its second delivery) and returns
 * the frame after it, as vnet_rx_peek would.  One caller at a time: the
 * stack's task.  The frame starts 2 bytes past an 8-byte boundary. */
const void *vnet_rx_peek(size_t *len);
const void *vnet_rx_next(size_t *len);

/* A free transmit buffer's frame (VNET_FRAME_MAX bytes, 2 past an 8-byte
 * boundary) for the caller to build its next frame in, or NULL when none
 * is free: vnet_tx of that pointer sends it without a copy.  The buffer
 * stays offered (later calls return it again, no other sender takes it)
 * until it is sent.  One builder at a time: the stack, under netk_lock. */
void *vnet_tx_frame(void);

/* Queue one frame (14..VNET_FRAME_MAX bytes) for transmission.  Returns
 * VNET_OK, VNET_EAGAIN (every transmit buffer in flight), VNET_EINVAL, or
 * VNET_ENODEV / VNET_EIO.  Any context. */
int vnet_tx(const void *frame, size_t len);

/* Plugging, as for virtio-blk: between vnet_plug and vnet_unplug,
 * vnet_tx fills the transmit ring without ringing the doorbell; the
 * unplug rings it once for the batch.  Nests.  Never hold a plug across a
 * wait for room: nothing completes until the unplug. */
void vnet_plug(void);
void vnet_unplug(void);

/* Take every completion the device has posted (what the interrupt does). */
void vnet_complete(void);

/*
 * Loss injection, for testing what runs over the link.  The boot option
 * net_drop=P (a percentage, 0..50; net_seed=S picks the generator's seed,
 * default P) makes the driver drop, duplicate and reorder frames in both
 * directions as kernel/netem.h describes: received frames as they are
 * filed, transmitted ones as vnet_tx takes them (a dropped frame still
 * returns VNET_OK; a held one is queued after the next frame sent).  The
 * vnet_stats *_inj_* counters count each decision.  Returns P (0: off).
 */
unsigned vnet_inject_pct(void);

/* The driver's bookkeeping is consistent (both queues).  For tests. */
bool vnet_selfcheck(void);

/*
 * The walk of a used ring that vnet_complete runs, with the driver's lock
 * held: virtq_process_used, always, in the kernel.  A pointer so a test can
 * wrap it and play a confused device (kernel/ktest/net.c).  queue is 0
 * (receive) or 1 (transmit).
 */
extern unsigned (*vnet_walk_used)(unsigned queue, struct virtq *q, virtq_done_fn done,
				  void *arg);

struct vnet_stats {
	uint64_t rx_frames;     /* good frames filed for the stack */
	uint64_t rx_taken;      /* frames handed back with vnet_rx_next */
	uint64_t rx_malformed;  /* completions rejected (virtq checks + too short) */
	uint64_t rx_reposts;    /* receive buffers given back to the device */
	uint64_t tx_frames;     /* frames submitted */
	uint64_t tx_done;       /* transmit completions accepted */
	uint64_t tx_malformed;  /* transmit completions rejected */
	uint64_t tx_full;       /* vnet_tx calls that found no free buffer */
	uint64_t interrupts;
	uint64_t notifies;      /* doorbell writes */
	/* Loss injection (net_drop=P): frames the driver itself dropped,
	 * delivered twice, or held back behind the next one. */
	uint64_t rx_inj_dropped, rx_inj_duplicated, rx_inj_reordered;
	uint64_t tx_inj_dropped, tx_inj_duplicated, tx_inj_reordered;
};
extern struct vnet_stats vnet_stats;

#endif /* KERNEL_VIRTIO_NET_H */
