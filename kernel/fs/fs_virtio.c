/* The file system's block device on virtio-blk: an fs_req holds one struct blk_req. */
#include "kernel/fs/fs_format.h"
#include "kernel/fs/fs_virtio.h"
#include "kernel/virtio_blk.h"
#include "lib/uapi/pollux.h"

/*
 * The two futures have the same shape (kernel/fs/fs_dev.h): the fs_req's
 * poll is blk_req_poll, its drop blk_req_drop, and the driver's BLK_E*
 * become -PX_E*.  The blk_req lives inside the fs_req, which never moves
 * (it is in a buffer, the log or an operation's state).
 */
#define SECTORS_PER_BLOCK (FS_BLOCK_SIZE / BLK_SECTOR_SIZE)

_Static_assert(sizeof(struct blk_req) <= sizeof(((struct fs_req *)0)->priv),
	       "a struct blk_req fits in an fs_req");

static struct blk_req *breq(struct fs_req *r)
{
	return (struct blk_req *)(void *)r->priv;
}

static int px_error(int blk)
{
	switch (blk) {
	case BLK_OK: return 0;
	case BLK_EROFS: return -PX_EROFS;
	case BLK_EAGAIN: return -PX_EAGAIN;
	default: return -PX_EIO; /* device error, past the end, no device */
	}
}

static enum poll vb_poll(struct future *f, struct context *cx)
{
	struct fs_req *r = (struct fs_req *)f;
	if (blk_req_poll(breq(r), cx) == POLL_PENDING)
		return POLL_PENDING;
	r->result = px_error(breq(r)->result);
	return POLL_READY;
}

static void vb_drop(struct future *f)
{
	blk_req_drop(breq((struct fs_req *)f));
}

static const struct future_vtable vb_vtable = { vb_poll, vb_drop };

static void vb_read(struct fs_dev *d, struct fs_req *r, uint32_t block, void *buf)
{
	(void)d;
	r->base.vtable = &vb_vtable;
	r->result = 0;
	blk_read_init(breq(r), (uint64_t)block * SECTORS_PER_BLOCK, buf, SECTORS_PER_BLOCK);
}

static void vb_write(struct fs_dev *d, struct fs_req *r, uint32_t block, const void *buf)
{
	(void)d;
	r->base.vtable = &vb_vtable;
	r->result = 0;
	blk_write_init(breq(r), (uint64_t)block * SECTORS_PER_BLOCK, buf, SECTORS_PER_BLOCK);
}

/* Read-ahead: refused when the device queue is full, never left waiting
 * for room (nobody would poll it when room came). */
static void vb_read_ahead(struct fs_dev *d, struct fs_req *r, uint32_t block, void *buf)
{
	vb_read(d, r, block, buf);
	breq(r)->nowait = true;
}

static const struct fs_dev_ops vb_ops = { vb_read, vb_write, vb_read_ahead };

void fs_virtio_dev(struct fs_dev *d)
{
	d->ops = &vb_ops;
	d->nblocks = blk_capacity() / SECTORS_PER_BLOCK;
	d->ctx = NULL;
}
