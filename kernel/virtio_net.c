/* virtio-net over MMIO: probe, virtio 1.x init, checked receive and transmit, completion interrupt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/spin.h"
#include "kernel/irq.h"
#include "kernel/machine.h"
#include "kernel/mmio.h"
#include "kernel/netem.h"
#include "kernel/virtio.h"
#include "kernel/virtio_net.h"
#include "kernel/virtq.h"

/* Feature bits and configuration layout (virtio 1.1, 5.1.3 and 5.1.4). */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_CFG_MAC 0x00  /* 6 bytes */

/*
 * With VIRTIO_F_VERSION_1 every frame is preceded by a 12-byte header
 * (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset,
 * num_buffers.  We negotiate no offloads, so we send it zeroed and ignore
 * it on receive (num_buffers is 1 without VIRTIO_NET_F_MRG_RXBUF).
 */
#define VNET_HDR_LEN 12

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QSIZE 32
/* One descriptor per buffer: header and frame together (allowed by
 * VERSION_1: the device may not assume a particular layout, 5.1.6.6). */
#define VNET_BUF (VNET_HDR_LEN + VNET_FRAME_MAX)
/* Where in its buffer a descriptor starts: 6 bytes in, so that the frame
 * after the header starts 2 bytes past an 8-byte boundary, and its IPv4
 * header and an option-less TCP segment's data start on one (the stack's
 * own frames are placed the same way: copies between them, and between a
 * segment's data and TCP's rings, then move whole words). */
#define VNET_PAD 6
#define VNET_FRAME(b) ((b)->data + VNET_PAD + VNET_HDR_LEN)

struct vnet_buf {
	_Alignas(16) uint8_t data[VNET_PAD + VNET_BUF];
	uint16_t len;   /* rx: bytes the device wrote, while in the ready list */
	uint16_t index;
	uint8_t copies; /* rx: deliveries left (2 for a duplicated frame) */
};

static struct {
	uintptr_t base;
	unsigned slot_no, irq;
	bool ready, dead;
	uint8_t mac[6];
	unsigned reports;
	bool rx_reposted;    /* rx_done gave a buffer back: ring the doorbell */
	unsigned plugged;    /* vnet_plug depth */
	bool tx_notify_due;  /* transmitted under a plug, doorbell not rung */
	bool tx_room_due;    /* tx_reap freed buffers: wake vnet_tx_room */
	struct virtq rxq, txq;
	struct vnet_buf rx[VNET_QSIZE], tx[VNET_QSIZE];
	bool tx_busy[VNET_QSIZE];
	int tx_offer;             /* the buffer vnet_tx_frame offered, or -1 */
	/* Received frames, in arrival order: indices into rx[]. */
	uint16_t ready_idx[VNET_QSIZE];
	unsigned ready_head, ready_count;
	/* Loss injection (vnet_inject_pct): one generator per direction and
	 * the frame held back in each, filed or sent after the next one. */
	struct netem em_rx, em_tx;
	bool rx_holding, tx_holding;
	uint16_t rx_held;                 /* index into rx[] */
	uint16_t tx_held_len;
	uint8_t tx_held[VNET_FRAME_MAX];
} dev;

struct vnet_stats vnet_stats;
struct notify vnet_rx_ready;
struct notify vnet_tx_room;

/* Interrupts masked on this hart and a spin lock against the others;
 * never held across a notify (the notify takes its own lock and wakes). */
static struct spin vnet_spin = SPIN_INIT;

static uint32_t reg_read(unsigned off)
{
	return mmio_read32(dev.base + off);
}

static void reg_write(unsigned off, uint32_t v)
{
	mmio_write32(dev.base + off, v);
}

static void notify_queue(unsigned q)
{
	/* The published index must reach the device before the doorbell. */
	arch_io_barrier();
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, q);
	vnet_stats.notifies++;
}

/* Give receive buffer i to the device.  Caller holds the lock. */
static bool rx_post(unsigned i)
{
	struct virtq_buf b = { kva_to_pa(dev.rx[i].data + VNET_PAD), VNET_BUF, true };
	if (virtq_submit(&dev.rxq, &b, 1, &dev.rx[i]) < 0)
		return false;
	vnet_stats.rx_reposts++;
	return true;
}

static void report(const char *what, unsigned queue, const struct virtq_fault *f)
{
	if (dev.reports++ < 8)
		printf("virtio-net: malformed %s used entry (queue %u, slot %u, used.idx %u): "
		       "id %u len %u: %s (limit %u); ignored\n", what, queue, f->slot,
		       f->used_idx, f->id, f->len, f->kind ? virtq_fault_str(f->kind)
							   : "shorter than the headers", f->limit);
	else if (dev.reports == 9)
		printf("virtio-net: further malformed entries are counted, not printed\n");
}

static void rx_report(void *arg, const struct virtq_fault *f)
{
	(void)arg;
	vnet_stats.rx_malformed++;
	report("receive", VNET_RXQ, f);
}

static void tx_report(void *arg, const struct virtq_fault *f)
{
	(void)arg;
	vnet_stats.tx_malformed++;
	report("transmit", VNET_TXQ, f);
}

static void rx_file(unsigned i)
{
	dev.ready_idx[(dev.ready_head + dev.ready_count) % VNET_QSIZE] = (uint16_t)i;
	dev.ready_count++;
}

/* A good received frame meets the injector (net_drop=P) on its way to the
 * ready list.  Caller holds the lock. */
static void rx_inject(struct vnet_buf *b)
{
	unsigned fate = netem_decide(&dev.em_rx);
	if (fate & NETEM_DROP) {
		vnet_stats.rx_inj_dropped++;
		dev.rx_reposted |= rx_post(b->index);
		return;
	}
	if (fate & NETEM_DUP) {
		b->copies = 2;
		vnet_stats.rx_inj_duplicated++;
	}
	if ((fate & NETEM_HOLD) && !dev.rx_holding) {
		dev.rx_holding = true;
		dev.rx_held = b->index;
		vnet_stats.rx_inj_reordered++;
		return;
	}
	rx_file(b->index);
	if (dev.rx_holding) {
		dev.rx_holding = false;
		rx_file(dev.rx_held);
	}
}

/* A checked receive completion.  virtq has verified the id and that len
 * fits the buffer; a frame must also hold both headers. */
static void rx_done(void *arg, void *cookie, uint32_t len)
{
	struct vnet_buf *b = cookie;
	(void)arg;
	if (len < VNET_HDR_LEN + VNET_FRAME_MIN) {
		struct virtq_fault f = { 0, dev.rxq.used.idx, (uint16_t)(dev.rxq.last_used - 1),
					 b->index, len, VNET_HDR_LEN + VNET_FRAME_MIN };
		vnet_stats.rx_malformed++;
		report("receive", VNET_RXQ, &f);
		dev.rx_reposted |= rx_post(b->index);
		return;
	}
	b->len = (uint16_t)(len - VNET_HDR_LEN);
	b->copies = 1;
	vnet_stats.rx_frames++;
	if (dev.em_rx.pct)
		rx_inject(b);
	else
		rx_file(b->index);
}

/* Transmit completions raise no interrupt while the driver has a free
 * buffer (VIRTQ_AVAIL_F_NO_INTERRUPT, set at setup): they are reaped when
 * the buffers run out, and at every interrupt.  A sender that finds none
 * turns the interrupt on, so that the next completion wakes it
 * (vnet_tx_room); vnet_complete turns it off again.  Caller holds the
 * lock. */
static void tx_irq(bool on)
{
	*(volatile uint16_t *)&dev.txq.avail.flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
}

static void tx_done(void *arg, void *cookie, uint32_t len)
{
	struct vnet_buf *b = cookie;
	(void)arg;
	(void)len; /* the device writes nothing into a transmit chain */
	dev.tx_busy[b->index] = false;
	vnet_stats.tx_done++;
}

static unsigned walk_used(unsigned queue, struct virtq *q, virtq_done_fn done, void *arg)
{
	(void)queue;
	return virtq_process_used(q, done, arg);
}

unsigned (*vnet_walk_used)(unsigned queue, struct virtq *q, virtq_done_fn done,
			   void *arg) = walk_used;

/* Reset the device: DMA stops, nothing it said is used again.  Every later
 * vnet_tx fails with VNET_EIO; frames already filed stay readable. */
static void fail_device(const char *why)
{
	if (dev.dead)
		return;
	printf("virtio-net: %s; resetting the device\n", why);
	dev.dead = true;
	reg_write(VIRTIO_MMIO_STATUS, 0);
	arch_io_barrier();
}

void vnet_complete(void)
{
	unsigned long f = spin_lock(&vnet_spin);
	vnet_stats.interrupts++;
	uint32_t st = reg_read(VIRTIO_MMIO_INT_STATUS);
	/* Acknowledge first: a completion after this raises a new interrupt. */
	reg_write(VIRTIO_MMIO_INT_ACK, st);
	arch_io_barrier();
	unsigned before_rx = dev.ready_count;
	unsigned tx_freed = 0;
	if (dev.ready && !dev.dead) {
		if ((st & VIRTIO_INT_CONFIG) &&
		    (reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET)) {
			fail_device("device status DEVICE_NEEDS_RESET");
		} else {
			vnet_walk_used(VNET_RXQ, &dev.rxq, rx_done, NULL);
			tx_freed = vnet_walk_used(VNET_TXQ, &dev.txq, tx_done, NULL);
			if (tx_freed)
				tx_irq(false);   /* the woken senders ask again */
			if (dev.rxq.broken || dev.txq.broken)
				fail_device("used ring index is corrupt");
		}
	}
	/* Buffers rejected as too short were reposted: tell the device. */
	if (dev.rx_reposted && dev.ready && !dev.dead)
		notify_queue(VNET_RXQ);
	dev.rx_reposted = false;
	bool rx = dev.ready_count != before_rx;
	bool wake_tx = tx_freed > 0 || dev.dead || dev.tx_room_due;
	dev.tx_room_due = false;
	spin_unlock(&vnet_spin, f);
	if (rx)
		notify_one(&vnet_rx_ready);
	if (wake_tx)
		notify_all(&vnet_tx_room);
}

static void vnet_irq(void *arg)
{
	(void)arg;
	vnet_complete();
}

/* The head of the ready list, or NULL.  Caller holds the lock. */
static const void *rx_head(size_t *len)
{
	if (dev.ready_count == 0)
		return NULL;
	struct vnet_buf *b = &dev.rx[dev.ready_idx[dev.ready_head]];
	*len = b->len;
	return VNET_FRAME(b);
}

const void *vnet_rx_peek(size_t *len)
{
	unsigned long f = spin_lock(&vnet_spin);
	const void *frame = rx_head(len);
	spin_unlock(&vnet_spin, f);
	return frame;
}

const void *vnet_rx_next(size_t *len)
{
	unsigned long f = spin_lock(&vnet_spin);
	if (dev.ready_count > 0) {
		unsigned i = dev.ready_idx[dev.ready_head];
		vnet_stats.rx_taken++;
		/* A duplicated frame stays at the head for its second delivery. */
		if (dev.rx[i].copies > 1) {
			dev.rx[i].copies--;
		} else {
			dev.ready_head = (dev.ready_head + 1) % VNET_QSIZE;
			dev.ready_count--;
			if (!dev.dead && rx_post(i))
				notify_queue(VNET_RXQ);
		}
	}
	const void *frame = rx_head(len);
	spin_unlock(&vnet_spin, f);
	return frame;
}

/* Take back the buffers the device has sent: how many.  Someone may be
 * waiting for one whose interrupt finds nothing left to reap: the caller
 * wakes vnet_tx_room after unlocking (tx_room_due).  Caller holds the
 * lock. */
static unsigned tx_reap(void)
{
	unsigned n = vnet_walk_used(VNET_TXQ, &dev.txq, tx_done, NULL);
	if (dev.txq.broken)
		fail_device("used ring index is corrupt");
	if (n)
		dev.tx_room_due = true;
	return n;
}

static int tx_find(void)
{
	for (unsigned i = 0; i < dev.txq.num; i++)
		if (!dev.tx_busy[i] && (int)i != dev.tx_offer)
			return (int)i;
	return -1;
}

/* A free transmit buffer, or -1 (then the next completion interrupts).
 * Caller holds the lock. */
static int tx_free(void)
{
	int i = tx_find();
	if (i >= 0 || dev.dead)
		return i;
	if (!tx_reap()) {
		/* A completion the device made before it saw the flag
		 * raised no interrupt: look once more after setting it. */
		tx_irq(true);
		arch_io_barrier();
		tx_reap();
	}
	return tx_find();
}

/* Unlock, then wake the senders waiting for room if a reap outside the
 * interrupt freed buffers. */
static void tx_unlock(unsigned long f)
{
	bool wake = dev.tx_room_due;
	dev.tx_room_due = false;
	spin_unlock(&vnet_spin, f);
	if (wake)
		notify_all(&vnet_tx_room);
}

/* Copy one frame into a free transmit buffer and submit it: VNET_OK or
 * VNET_EAGAIN.  Caller holds the lock. */
static int tx_submit(const void *frame, size_t len)
{
	/* The frame built in the buffer vnet_tx_frame offered goes as it is. */
	int i = dev.tx_offer;
	bool in_place = i >= 0 && frame == VNET_FRAME(&dev.tx[i]);
	if (!in_place && (i = tx_free()) < 0)
		return VNET_EAGAIN;
	struct vnet_buf *b = &dev.tx[i];
	if (!in_place)
		memcpy(VNET_FRAME(b), frame, len);
	struct virtq_buf vb = { kva_to_pa(b->data + VNET_PAD), (uint32_t)(VNET_HDR_LEN + len),
				false };
	if (virtq_submit(&dev.txq, &vb, 1, b) < 0)
		return VNET_EAGAIN;
	if (in_place)
		dev.tx_offer = -1;
	dev.tx_busy[i] = true;
	vnet_stats.tx_frames++;
	if (dev.plugged)
		dev.tx_notify_due = true;
	else
		notify_queue(VNET_TXQ);
	return VNET_OK;
}

/* vnet_tx under loss injection.  The decision is made only once there is
 * room, so VNET_EAGAIN means what it always does.  Caller holds the lock. */
static int tx_inject(const void *frame, size_t len)
{
	bool offered = dev.tx_offer >= 0 && frame == VNET_FRAME(&dev.tx[dev.tx_offer]);
	if (!offered && tx_free() < 0)
		return VNET_EAGAIN;
	unsigned fate = netem_decide(&dev.em_tx);
	if (fate & NETEM_DROP) {
		vnet_stats.tx_inj_dropped++;
		return VNET_OK;
	}
	bool hold = (fate & NETEM_HOLD) && !dev.tx_holding;
	if (hold) {
		/* Sent after the next frame (a duplicate's first copy goes now). */
		memcpy(dev.tx_held, frame, len);
		dev.tx_held_len = (uint16_t)len;
		dev.tx_holding = true;
		vnet_stats.tx_inj_reordered++;
	}
	if (!hold || (fate & NETEM_DUP)) {
		int r = tx_submit(frame, len);
		if (r != VNET_OK)
			return r;
	}
	if (fate & NETEM_DUP) {
		if (hold || tx_submit(frame, len) == VNET_OK)
			vnet_stats.tx_inj_duplicated++;
	}
	if (dev.tx_holding && !hold && tx_submit(dev.tx_held, dev.tx_held_len) == VNET_OK)
		dev.tx_holding = false;
	return VNET_OK;
}

void *vnet_tx_frame(void)
{
	void *frame = NULL;
	unsigned long f = spin_lock(&vnet_spin);
	if (dev.ready && !dev.dead) {
		if (dev.tx_offer < 0)
			dev.tx_offer = tx_free();
		if (dev.tx_offer >= 0)
			frame = VNET_FRAME(&dev.tx[dev.tx_offer]);
	}
	tx_unlock(f);
	return frame;
}

int vnet_tx(const void *frame, size_t len)
{
	if (len < VNET_FRAME_MIN || len > VNET_FRAME_MAX)
		return VNET_EINVAL;
	int ret;
	unsigned long f = spin_lock(&vnet_spin);
	if (!dev.ready) {
		ret = VNET_ENODEV;
	} else if (dev.dead) {
		ret = VNET_EIO;
	} else {
		ret = dev.em_tx.pct ? tx_inject(frame, len) : tx_submit(frame, len);
		if (ret == VNET_EAGAIN)
			vnet_stats.tx_full++;
	}
	tx_unlock(f);
	return ret;
}

void vnet_plug(void)
{
	unsigned long f = spin_lock(&vnet_spin);
	dev.plugged++;
	spin_unlock(&vnet_spin, f);
}

void vnet_unplug(void)
{
	unsigned long f = spin_lock(&vnet_spin);
	if (dev.plugged && --dev.plugged == 0 && dev.tx_notify_due) {
		dev.tx_notify_due = false;
		if (dev.ready && !dev.dead)
			notify_queue(VNET_TXQ);
	}
	spin_unlock(&vnet_spin, f);
}

unsigned vnet_inject_pct(void)
{
	return dev.em_rx.pct;
}

bool vnet_present(void)
{
	return dev.ready;
}

void vnet_mac(uint8_t mac[6])
{
	memcpy(mac, dev.mac, 6);
}

bool vnet_selfcheck(void)
{
	unsigned long f = spin_lock(&vnet_spin);
	bool ok = virtq_check(&dev.rxq) && virtq_check(&dev.txq);
	unsigned busy = 0;
	for (unsigned i = 0; i < VNET_QSIZE; i++)
		busy += dev.tx_busy[i];
	ok = ok && busy == dev.txq.inflight;
	/* Every receive buffer is at the device, in the ready list or held. */
	ok = ok && dev.rxq.inflight + dev.ready_count + dev.rx_holding == dev.rxq.num;
	spin_unlock(&vnet_spin, f);
	return ok;
}

/* ---- probe and init -------------------------------------------------------*/

static void status_set(uint32_t bits)
{
	reg_write(VIRTIO_MMIO_STATUS, reg_read(VIRTIO_MMIO_STATUS) | bits);
}

static int fail_init(const char *why)
{
	printf("virtio-net: slot %u: %s; skipped\n", dev.slot_no, why);
	reg_write(VIRTIO_MMIO_STATUS, reg_read(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
	return VNET_ENODEV;
}

static int queue_setup(unsigned sel, struct virtq *q,
		       void (*rep)(void *, const struct virtq_fault *))
{
	reg_write(VIRTIO_MMIO_QUEUE_SEL, sel);
	if (reg_read(VIRTIO_MMIO_QUEUE_READY) != 0)
		return fail_init("queue already in use");
	uint32_t max = reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0)
		return fail_init("queue does not exist");
	unsigned num = 1;
	while (num * 2 <= max && num * 2 <= VNET_QSIZE)
		num *= 2;
	if (num < 2 || virtq_init(q, num) != 0)
		return fail_init("queue too small");
	q->barrier = arch_io_barrier;
	q->report = rep;
	reg_write(VIRTIO_MMIO_QUEUE_NUM, num);
	uint64_t pa = kva_to_pa(q->desc);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_LO, (uint32_t)pa);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_HI, (uint32_t)(pa >> 32));
	pa = kva_to_pa(&q->avail);
	reg_write(VIRTIO_MMIO_QUEUE_DRIVER_LO, (uint32_t)pa);
	reg_write(VIRTIO_MMIO_QUEUE_DRIVER_HI, (uint32_t)(pa >> 32));
	pa = kva_to_pa(&q->used);
	reg_write(VIRTIO_MMIO_QUEUE_DEVICE_LO, (uint32_t)pa);
	reg_write(VIRTIO_MMIO_QUEUE_DEVICE_HI, (uint32_t)(pa >> 32));
	arch_io_barrier();
	reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

/* The virtio 1.x initialisation sequence (spec 3.1.1, 4.2.3.2, 5.1.5). */
static int setup(void)
{
	/* VERSION_1 and MAC only: no checksum or segmentation offloads, no
	 * merged receive buffers, no control queue. */
	uint64_t want;
	const char *why = virtio_mmio_negotiate(dev.base, 1ull << VIRTIO_NET_F_MAC, &want);
	if (why)
		return fail_init(why);

	static const uint8_t qemu_default[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	memcpy(dev.mac, qemu_default, 6);
	if (want & (1ull << VIRTIO_NET_F_MAC))
		for (unsigned i = 0; i < 6; i++)
			dev.mac[i] = mmio_read8(dev.base + VIRTIO_MMIO_CONFIG + VIRTIO_NET_CFG_MAC + i);

	if (queue_setup(VNET_RXQ, &dev.rxq, rx_report) != 0 ||
	    queue_setup(VNET_TXQ, &dev.txq, tx_report) != 0)
		return VNET_ENODEV;
	for (unsigned i = 0; i < VNET_QSIZE; i++) {
		dev.rx[i].index = (uint16_t)i;
		dev.tx[i].index = (uint16_t)i;
		/* A transmit buffer's virtio-net header asks for nothing (no
		 * offloads): zero once, and nothing writes it after. */
		memset(dev.tx[i].data + VNET_PAD, 0, VNET_HDR_LEN);
	}
	for (unsigned i = 0; i < dev.rxq.num; i++)
		rx_post(i);
	tx_irq(false);

	if (dev.irq == 0 || irq_register(dev.irq, vnet_irq, NULL, IRQ_HART_ANY) != 0)
		return fail_init("cannot register its interrupt");
	status_set(VIRTIO_STATUS_DRIVER_OK);
	if (reg_read(VIRTIO_MMIO_STATUS) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
		return fail_init("device status DEVICE_NEEDS_RESET after DRIVER_OK");
	notify_queue(VNET_RXQ);
	return 0;
}

/* net_drop=P and net_seed=S from the kernel command line. */
static void inject_setup(void)
{
	char val[24];
	if (!bootarg("net_drop", val, sizeof(val)))
		return;
	char *end;
	unsigned long pct = strtoul(val, &end, 10);
	if (end == val || *end || pct > NETEM_MAX_PCT) {
		printf("virtio-net: net_drop=%s is not a percentage 0..%u; ignored\n", val,
		       NETEM_MAX_PCT);
		return;
	}
	uint64_t seed = pct;
	if (bootarg("net_seed", val, sizeof(val))) {
		seed = strtoull(val, &end, 0);
		if (end == val || *end) {
			printf("virtio-net: net_seed=%s is not a number; using %lu\n", val, pct);
			seed = pct;
		}
	}
	if (pct == 0)
		return;
	netem_init(&dev.em_rx, (unsigned)pct, seed);
	netem_init(&dev.em_tx, (unsigned)pct, seed ^ 0x7478u);  /* "tx": its own sequence */
	printf("virtio-net: loss injection on: drop, duplicate and reorder %lu%% of frames "
	       "each way (seed %llu)\n", pct, (unsigned long long)seed);
}

int vnet_init(const struct machine *mach)
{
	notify_init(&vnet_rx_ready);
	notify_init(&vnet_tx_room);
	for (unsigned i = 0; i < mach->nvirtio; i++) {
		uintptr_t base = (uintptr_t)mach->virtio[i].base;
		if (mmio_read32(base + VIRTIO_MMIO_MAGIC) != VIRTIO_MMIO_MAGIC_VALUE)
			continue;
		if (mmio_read32(base + VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_NET)
			continue;
		uint32_t version = mmio_read32(base + VIRTIO_MMIO_VERSION);
		if (version != 2) {
			printf("virtio-net: slot %u: virtio-mmio version %u not supported; "
			       "skipped\n", i, version);
			continue;
		}
		memset(&dev, 0, sizeof(dev));
		dev.tx_offer = -1;
		dev.base = base;
		dev.slot_no = i;
		dev.irq = mach->virtio[i].irq;
		inject_setup();
		if (setup() != 0)
			continue;
		unsigned long f = spin_lock(&vnet_spin);
		dev.ready = true;
		spin_unlock(&vnet_spin, f);
		printf("virtio-net: slot %u at %#llx irq %u, mac %02x:%02x:%02x:%02x:%02x:%02x, "
		       "queues %u/%u\n", i, (unsigned long long)base, dev.irq, dev.mac[0],
		       dev.mac[1], dev.mac[2], dev.mac[3], dev.mac[4], dev.mac[5],
		       dev.rxq.num, dev.txq.num);
		return 0;
	}
	return VNET_ENODEV;
}
