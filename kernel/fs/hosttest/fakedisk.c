/* A fake disk in memory for the file-system host tests, and the runner that plays the executor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/fs_format.h"
#include "kernel/fs/fs_ops.h"
#include "kernel/fs/hosttest/fakedisk.h"
#include "kernel/fs/tools/hostdev.h"

struct fd_priv {
	struct hostdev_req q;     /* first */
	uint8_t st;               /* 0 new, 1 in flight, 2 done */
	struct waker w;
};
_Static_assert(sizeof(struct fd_priv) <= sizeof(((struct fs_req *)0)->priv), "fits");

static struct fd_priv *P(struct fs_req *r)
{
	return (struct fd_priv *)(void *)r->priv;
}

static uint64_t rnd(struct fakedisk *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static enum poll fd_poll(struct future *f, struct context *cx)
{
	struct fs_req *r = (struct fs_req *)f;
	struct fd_priv *p = P(r);
	struct fakedisk *d = p->q.dev;
	unsigned long fl = spin_lock(&d->lock);
	if (p->st == 0) {
		if (p->q.block >= d->nblocks) {
			r->result = -PX_EIO;
			p->st = 2;
		} else {
			if (d->n >= FAKEDISK_MAX_INFLIGHT)
				abort();
			d->inflight[d->n++] = r;
			if (d->n > d->inflight_max)
				d->inflight_max = d->n;
			p->st = 1;
			p->w = WAKER_NONE;
		}
	}
	if (p->st == 2) {
		spin_unlock(&d->lock, fl);
		return POLL_READY;
	}
	/* a clone outside the lock would race with the completion: the
	 * waker vtables here never block, so register under it */
	waker_register(&p->w, cx->waker);
	spin_unlock(&d->lock, fl);
	return POLL_PENDING;
}

static void fd_drop(struct future *f)
{
	(void)f;
	abort(); /* the file system never drops a request */
}

static const struct future_vtable fd_vtable = { fd_poll, fd_drop };

static void fd_start(struct fs_dev *dev, struct fs_req *r, uint32_t block, const void *buf,
		     bool write)
{
	hostdev_start(r, &fd_vtable, dev, block, buf, write);
	P(r)->st = 0;
}

static void fd_read(struct fs_dev *dev, struct fs_req *r, uint32_t block, void *buf)
{
	fd_start(dev, r, block, buf, false);
}

static void fd_write(struct fs_dev *dev, struct fs_req *r, uint32_t block, const void *buf)
{
	fd_start(dev, r, block, buf, true);
}

static const struct fs_dev_ops fd_ops = { fd_read, fd_write, NULL };

void fakedisk_init(struct fakedisk *d, uint64_t nblocks, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	spin_init(&d->lock);
	d->mem = calloc(nblocks, FS_BLOCK_SIZE);
	d->nblocks = nblocks;
	d->rng = seed ? seed : 88172645463325252ull;
	d->crash_after = -1;
	d->bad_block = UINT32_MAX;
	d->dev.ops = &fd_ops;
	d->dev.nblocks = nblocks;
	d->dev.ctx = d;
}

void fakedisk_free(struct fakedisk *d)
{
	free(d->mem);
	d->mem = NULL;
}

int fakedisk_load(struct fakedisk *d, const char *path, uint64_t seed)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint64_t nblocks = len > 0 ? (uint64_t)len / FS_BLOCK_SIZE : 0;
	fakedisk_init(d, nblocks, seed);
	size_t want = (size_t)nblocks * FS_BLOCK_SIZE;
	size_t got = fread(d->mem, 1, want, f);
	fclose(f);
	return got == want ? 0 : -1;
}

int fakedisk_read_block(void *ctx, uint32_t b, void *buf)
{
	struct fakedisk *d = ctx;
	if (b >= d->nblocks)
		return -1;
	memcpy(buf, d->mem + (uint64_t)b * FS_BLOCK_SIZE, FS_BLOCK_SIZE);
	return 0;
}

int fakedisk_write_block(void *ctx, uint32_t b, const void *buf)
{
	struct fakedisk *d = ctx;
	if (b >= d->nblocks)
		return -1;
	memcpy(d->mem + (uint64_t)b * FS_BLOCK_SIZE, buf, FS_BLOCK_SIZE);
	return 0;
}

unsigned fakedisk_complete(struct fakedisk *d, unsigned k)
{
	unsigned done = 0;
	while (done < k) {
		unsigned long fl = spin_lock(&d->lock);
		if (!d->n) {
			spin_unlock(&d->lock, fl);
			break;
		}
		unsigned i = (unsigned)(rnd(d) % d->n);
		struct fs_req *r = d->inflight[i];
		d->inflight[i] = d->inflight[--d->n];
		struct fd_priv *p = P(r);
		uint8_t *blk = d->mem + (uint64_t)p->q.block * FS_BLOCK_SIZE;
		if (p->q.write) {
			d->writes_done++;
			if (!d->crashed && d->crash_after >= 0 && d->writes >= d->crash_after)
				d->crashed = true;
			if (!d->crashed) {
				memcpy(blk, p->q.buf, FS_BLOCK_SIZE);
				d->writes++;
			}
			r->result = 0;
		} else {
			d->reads_done++;
			if (p->q.block == d->bad_block) {
				r->result = -PX_EIO;
			} else {
				memcpy(p->q.buf, blk, FS_BLOCK_SIZE);
				r->result = 0;
			}
		}
		p->st = 2;
		struct waker w = p->w;
		p->w = WAKER_NONE;
		spin_unlock(&d->lock, fl);
		waker_wake(&w);
		done++;
	}
	return done;
}

/* ---- the runner: one flag per future is its waker ------------------------------------*/

int run_all(struct fakedisk *d, struct io_future *const *fs, unsigned n)
{
	bool woken[64], ready[64];
	if (n > 64)
		abort();
	for (unsigned i = 0; i < n; i++) {
		woken[i] = true;
		ready[i] = false;
	}
	for (;;) {
		bool any = false, all = true;
		for (unsigned i = 0; i < n; i++) {
			if (ready[i])
				continue;
			all = false;
			if (!woken[i])
				continue;
			any = true;
			woken[i] = false;
			struct waker w = flag_waker(&woken[i]);
			struct context cx = { &w };
			if (io_poll(fs[i], &cx) == POLL_READY)
				ready[i] = true;
		}
		if (all)
			return 0;
		if (any)
			continue;
		/* nothing to poll: let the disk finish something */
		if (!fakedisk_complete(d, 1 + (unsigned)(rnd(d) % 4)))
			return -1;
	}
}

int64_t run1(struct fakedisk *d, union io_slot *slot, int64_t started)
{
	if (started != IO_STARTED)
		return started;
	struct io_future *f = &slot->f;
	if (run_all(d, &f, 1) != 0) {
		struct fs_call *c = ((struct fs_op *)slot)->c;
		printf("    stuck: operation kind %d at line %d (step %d)\n", c ? c->kind : -1,
		       c ? c->state : -1, c ? c->live : -1);
		if (c && c->fs)
			printf("    log: n %u reserved %u outstanding %u committing %d cap %u err %d\n",
			       c->fs->log.n, c->fs->log.reserved, c->fs->log.outstanding,
			       c->fs->log.committing, c->fs->log.cap, c->fs->log.error);
		return -9999;
	}
	return slot->f.result;
}
