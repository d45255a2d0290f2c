/* An image file as the file system's block device (synchronous), and a runner for one operation. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fs/fs_format.h"
#include "kernel/fs/tools/filedev.h"
#include "kernel/fs/tools/hostdev.h"

static enum poll fdev_poll(struct future *f, struct context *cx)
{
	struct fs_req *r = (struct fs_req *)f;
	struct hostdev_req *q = hostdev_req(r);
	struct filedev *d = q->dev;
	off_t at = (off_t)q->block * FS_BLOCK_SIZE;
	(void)cx;
	r->result = 0;
	if (q->block >= d->dev.nblocks) {
		r->result = -PX_EIO;
	} else if (q->write) {
		d->writes++;
		if (pwrite(d->fd, q->buf, FS_BLOCK_SIZE, at) != FS_BLOCK_SIZE || fdatasync(d->fd) != 0)
			r->result = -PX_EIO;
	} else {
		d->reads++;
		if (pread(d->fd, q->buf, FS_BLOCK_SIZE, at) != FS_BLOCK_SIZE)
			r->result = -PX_EIO;
	}
	return POLL_READY;
}

static void fdev_drop(struct future *f)
{
	(void)f; /* nothing in flight between polls */
}

static const struct future_vtable fdev_vtable = { fdev_poll, fdev_drop };

static void fdev_read(struct fs_dev *dev, struct fs_req *r, uint32_t block, void *buf)
{
	hostdev_start(r, &fdev_vtable, dev, block, buf, false);
}

static void fdev_write(struct fs_dev *dev, struct fs_req *r, uint32_t block, const void *buf)
{
	hostdev_start(r, &fdev_vtable, dev, block, buf, true);
}

static const struct fs_dev_ops fdev_ops = { fdev_read, fdev_write, NULL };

int filedev_open(struct filedev *d, const char *path)
{
	struct stat st;
	d->fd = open(path, O_RDWR);
	if (d->fd < 0)
		return -1;
	if (fstat(d->fd, &st) != 0) {
		int e = errno;
		close(d->fd);
		errno = e;
		return -1;
	}
	d->dev.ops = &fdev_ops;
	d->dev.nblocks = (uint64_t)st.st_size / FS_BLOCK_SIZE;
	d->dev.ctx = d;
	d->reads = d->writes = 0;
	return 0;
}

int filedev_close(struct filedev *d)
{
	int r = fsync(d->fd);
	if (close(d->fd) != 0)
		r = -1;
	d->fd = -1;
	return r;
}

/* ---- the runner: one flag is the waker ------------------------------------------------*/

int64_t filedev_run1(union io_slot *slot, int64_t started)
{
	if (started != IO_STARTED)
		return started;
	bool woken = true;
	while (woken) {
		woken = false;
		struct waker w = flag_waker(&woken);
		struct context cx = { &w };
		if (io_poll(&slot->f, &cx) == POLL_READY)
			return slot->f.result;
	}
	/* Pending with nobody to wake it: every request here completes at
	 * its first poll, so this is a lost wake-up.  The operation is left
	 * as it is (it may be busy): the tool stops. */
	return -PX_EIO;
}
