/* virtio 1.x over MMIO: register offsets, status and feature bits, split-ring layouts. */
#ifndef KERNEL_VIRTIO_H
#define KERNEL_VIRTIO_H

#include <stdint.h>

/*
 * Numbers from the virtio 1.1 specification (section 4.2.2, "MMIO Device
 * Register Layout", and 2.6, "Split Virtqueues").  Everything the device
 * sees is little-endian; both our arches are little-endian, so the structs
 * below are used as they are.
 */

/* ---- MMIO registers (offsets from the slot's base) ----------------------*/
#define VIRTIO_MMIO_MAGIC           0x000 /* "virt" = 0x74726976 */
#define VIRTIO_MMIO_VERSION         0x004 /* 2 = virtio 1.x; 1 = legacy */
#define VIRTIO_MMIO_DEVICE_ID       0x008 /* 0 = empty slot, 2 = block */
#define VIRTIO_MMIO_VENDOR_ID       0x00c
#define VIRTIO_MMIO_DEV_FEATURES    0x010 /* 32 bits selected by ..._SEL */
#define VIRTIO_MMIO_DEV_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRV_FEATURES    0x020
#define VIRTIO_MMIO_DRV_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL       0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX   0x034
#define VIRTIO_MMIO_QUEUE_NUM       0x038
#define VIRTIO_MMIO_QUEUE_READY     0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY    0x050 /* write the queue index: doorbell */
#define VIRTIO_MMIO_INT_STATUS      0x060
#define VIRTIO_MMIO_INT_ACK         0x064
#define VIRTIO_MMIO_STATUS          0x070
#define VIRTIO_MMIO_QUEUE_DESC_LO   0x080
#define VIRTIO_MMIO_QUEUE_DESC_HI   0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LO 0x090 /* the available ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HI 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LO 0x0a0 /* the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HI 0x0a4
#define VIRTIO_MMIO_CONFIG_GEN      0x0fc
#define VIRTIO_MMIO_CONFIG          0x100 /* device-specific configuration */

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u

/* InterruptStatus bits. */
#define VIRTIO_INT_USED   (1u << 0) /* a used buffer was added to a queue */
#define VIRTIO_INT_CONFIG (1u << 1) /* configuration (or status) changed */

/* ---- Device IDs ----------------------------------------------------------*/
#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2

/* ---- Device status (written by the driver step by step, section 3.1) -----*/
#define VIRTIO_STATUS_ACKNOWLEDGE  1   /* we saw the device */
#define VIRTIO_STATUS_DRIVER       2   /* we know how to drive it */
#define VIRTIO_STATUS_DRIVER_OK    4   /* the driver is live */
#define VIRTIO_STATUS_FEATURES_OK  8   /* feature negotiation finished */
#define VIRTIO_STATUS_NEEDS_RESET  64  /* device gave up: reset it */
#define VIRTIO_STATUS_FAILED       128 /* driver gave up on the device */

/* ---- Feature bits (bit numbers in the 64-bit feature space) -------------*/
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32  /* modern device: must be accepted */
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED   34

/* ---- Split virtqueue layout (section 2.6) --------------------------------
 *
 * Three areas, each owned by one side:
 *   descriptor table  driver writes, device reads   (align 16)
 *   available ring    driver writes, device reads   (align 2)
 *   used ring         device writes, driver reads   (align 4)
 * The ring arrays are declared for VIRTQ_MAX entries; a queue of `num`
 * entries uses the first `num` (the device indexes modulo num).  We do not
 * negotiate VIRTIO_F_EVENT_IDX, so used_event / avail_event are unused.
 */
#define VIRTQ_MAX 64

#define VIRTQ_DESC_F_NEXT     1 /* chain continues in `next` */
#define VIRTQ_DESC_F_WRITE    2 /* device writes this buffer (else reads) */
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq_desc {
	uint64_t addr;  /* physical address of the buffer */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;               /* free-running: next slot the driver fills */
	uint16_t ring[VIRTQ_MAX];   /* heads of chains, in submission order */
	uint16_t used_event;
};

struct virtq_used_elem {
	uint32_t id;   /* head of the chain the device finished */
	uint32_t len;  /* bytes the device wrote into the chain */
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;               /* free-running: next slot the device fills */
	struct virtq_used_elem ring[VIRTQ_MAX];
	uint16_t avail_event;
};

/* ---- Addresses the device sees -------------------------------------------
 *
 * The kernel runs identity-mapped (VA == PA) on both arches for now.  Every
 * address handed to a device goes through this one helper so that the
 * virtual-memory work changes a single place.
 */
static inline uint64_t kva_to_pa(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif /* KERNEL_VIRTIO_H */
