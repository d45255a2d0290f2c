/* The write-ahead log: reservations, group commit driven by its waiters, durability. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/fs_log.h"
#include "lib/uapi/pollux.h"

enum { PH_IDLE, PH_START, PH_LOG, PH_HEAD, PH_HOME, PH_CLEAR };

/* The log's waker: a commit request completed. */
static struct raw_waker lw_clone(const void *data);
static void lw_wake(const void *data)
{
	struct fs_log *l = (struct fs_log *)(uintptr_t)data;
	atomic_store(&l->kicked, true);
	notify_all(&l->changed);
}
static void lw_drop(const void *data)
{
	(void)data;
}
static const struct raw_waker_vtable lw_vtable = { lw_clone, lw_wake, lw_wake, lw_drop };
static struct raw_waker lw_clone(const void *data)
{
	return (struct raw_waker){ data, &lw_vtable };
}

int fs_log_init(struct fs_log *l, struct fs_cache *c, struct fs_dev *dev, uint32_t start,
		uint32_t cap, uint64_t seq)
{
	memset(l, 0, sizeof(*l));
	spin_init(&l->lock);
	notify_init(&l->changed);
	l->cache = c;
	l->dev = dev;
	l->start = start;
	l->cap = cap;
	l->seq = seq + 1;
	l->durable = seq;
	l->bufs = fs_env_table_alloc(cap * sizeof(*l->bufs));
	l->io_done = fs_env_table_alloc(cap);
	l->hdr = fs_env_page_alloc();
	if (!l->bufs || !l->io_done || !l->hdr) {
		fs_log_destroy(l);
		return -PX_ENOMEM;
	}
	return 0;
}

void fs_log_destroy(struct fs_log *l)
{
	fs_env_table_free(l->bufs, l->cap * sizeof(*l->bufs));
	fs_env_table_free(l->io_done, l->cap);
	if (l->hdr)
		fs_env_page_free(l->hdr);
	l->bufs = NULL;
	l->io_done = NULL;
	l->hdr = NULL;
}

/* ---- the commit machine (run by one driver at a time) ------------------------------*/

static void issue_all(struct fs_log *l, bool home)
{
	for (uint32_t i = 0; i < l->n; i++) {
		struct fs_buf *b = l->bufs[i];
		l->io_done[i] = 0;
		l->dev->ops->write(l->dev, &b->req, home ? b->block : l->start + 1 + i, b->data);
	}
	l->left = l->n;
}

/* Poll every unfinished request of this step; true when all have
 * finished.  *err: one of them failed. */
static bool poll_all(struct fs_log *l, struct context *cx, bool *err)
{
	for (uint32_t i = 0; i < l->n && l->left; i++) {
		if (l->io_done[i])
			continue;
		struct fs_req *r = &l->bufs[i]->req;
		if (future_poll(&r->base, cx) == POLL_PENDING)
			continue;
		l->io_done[i] = 1;
		l->left--;
		if (r->result)
			*err = true;
	}
	return l->left == 0;
}

static void write_header(struct fs_log *l, uint32_t count)
{
	struct fs_log_header *h = l->hdr;
	memset(h, 0, FS_BLOCK_SIZE);
	h->magic = FS_LOG_MAGIC;
	h->count = count;
	h->seq = l->seq;
	for (uint32_t i = 0; i < count; i++)
		h->blocks[i] = l->bufs[i]->block;
	h->crc = fs_log_crc(h, count);
	l->dev->ops->write(l->dev, &l->hreq, l->start, h);
}

/* The transaction's blocks leave it: each buffer is unlogged and released. */
static void release_all(struct fs_log *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		unsigned long f = spin_lock(&l->lock);
		l->bufs[i]->logged = false;
		spin_unlock(&l->lock, f);
		fs_brelse(l->cache, l->bufs[i]);
	}
}

static void finish(struct fs_log *l, int err)
{
	bool was_home = l->phase >= PH_HOME;
	release_all(l);
	unsigned long f = spin_lock(&l->lock);
	if (err) {
		l->error = -PX_EIO;
	} else {
		l->commits++;
		l->blocks_committed += l->n;
		l->durable = l->seq;
		l->seq++;
	}
	l->n = 0;
	l->committing = false;
	l->phase = PH_IDLE;
	spin_unlock(&l->lock, f);
	if (err)
		fs_env_say("fs: a write to the disk failed while %s; the file system now fails "
			   "every operation with EIO (remount to recover)",
			   was_home ? "installing a committed transaction" : "committing");
	notify_all(&l->changed);
}

static void step(struct fs_log *l)
{
	struct waker w = { { l, &lw_vtable } };
	struct context cx = { &w };
	bool err = false;
	for (;;) {
		switch (l->phase) {
		case PH_START:
			issue_all(l, false);
			l->phase = PH_LOG;
			break;
		case PH_LOG:
			if (!poll_all(l, &cx, &err))
				return;
			if (err)
				return finish(l, -PX_EIO);
			write_header(l, l->n);   /* the commit point */
			l->phase = PH_HEAD;
			break;
		case PH_HEAD:
			if (future_poll(&l->hreq.base, &cx) == POLL_PENDING)
				return;
			if (l->hreq.result)
				return finish(l, -PX_EIO);
			issue_all(l, true);
			l->phase = PH_HOME;
			break;
		case PH_HOME:
			if (!poll_all(l, &cx, &err))
				return;
			if (err)
				return finish(l, -PX_EIO);
			write_header(l, 0);
			l->phase = PH_CLEAR;
			break;
		case PH_CLEAR:
			if (future_poll(&l->hreq.base, &cx) == POLL_PENDING)
				return;
			return finish(l, l->hreq.result ? -PX_EIO : 0);
		default:
			return;
		}
	}
}

/* Move the commit on, unless somebody else is doing it (then they will
 * see our kick and go round again). */
static void drive(struct fs_log *l)
{
	unsigned long f = spin_lock(&l->lock);
	if (!l->committing || l->driving) {
		if (l->driving)
			atomic_store(&l->kicked, true);
		spin_unlock(&l->lock, f);
		return;
	}
	l->driving = true;
	spin_unlock(&l->lock, f);
	for (;;) {
		atomic_store(&l->kicked, false);
		step(l);
		f = spin_lock(&l->lock);
		if (atomic_load(&l->kicked) && l->committing) {
			spin_unlock(&l->lock, f);
			continue;
		}
		l->driving = false;
		spin_unlock(&l->lock, f);
		return;
	}
}

/* ---- begin / write / end / durable ---------------------------------------------------*/

void fs_begin_init(struct fs_begin *b, struct fs_log *l, uint32_t want)
{
	b->l = l;
	b->want = want;
	b->waiting = false;
	b->result = 0;
}

enum poll fs_begin_poll(struct fs_begin *b, struct context *cx)
{
	struct fs_log *l = b->l;
	for (;;) {
		if (b->waiting) {
			if (notified_poll(&b->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			b->waiting = false;
		}
		unsigned long f = spin_lock(&l->lock);
		if (l->error || b->want > l->cap) {
			b->result = l->error ? l->error : -PX_EINVAL;
			spin_unlock(&l->lock, f);
			return POLL_READY;
		}
		if (!l->committing && l->n + l->reserved + b->want <= l->cap) {
			l->reserved += b->want;
			l->outstanding++;
			spin_unlock(&l->lock, f);
			b->result = 0;
			return POLL_READY;
		}
		notified_init(&b->wait, &l->changed);
		b->waiting = true;
		bool c = l->committing;
		spin_unlock(&l->lock, f);
		if (c)
			drive(l);
	}
}

void fs_begin_drop(struct fs_begin *b)
{
	if (b->waiting)
		notified_drop(&b->wait);
	b->waiting = false;
}

void fs_log_write(struct fs_log *l, struct fs_buf *b)
{
	unsigned long f = spin_lock(&l->lock);
	if (!b->logged) {
		if (l->n >= l->cap) {
			l->error = -PX_EIO;
			spin_unlock(&l->lock, f);
			fs_env_say("fs: a transaction outgrew its reservation; failing with EIO");
			return;
		}
		b->logged = true;
		l->bufs[l->n++] = b;
		fs_bhold(l->cache, b);
	}
	spin_unlock(&l->lock, f);
}

void fs_log_abort(struct fs_log *l)
{
	unsigned long f = spin_lock(&l->lock);
	bool first = !l->error;
	l->error = -PX_EIO;
	spin_unlock(&l->lock, f);
	if (first)
		fs_env_say("fs: damage met in the middle of a change; the change is abandoned and "
			   "the file system fails every operation with EIO (remount to recover)");
	notify_all(&l->changed);
}

uint64_t fs_end(struct fs_log *l, uint32_t want)
{
	unsigned long f = spin_lock(&l->lock);
	uint64_t seq = l->seq;
	l->outstanding--;
	l->reserved -= want;
	if (l->outstanding == 0 && !l->committing && !l->error) {
		if (l->n > 0) {
			l->committing = true;
			l->phase = PH_START;
		} else {
			l->durable = l->seq;
			l->seq++;
		}
	}
	spin_unlock(&l->lock, f);
	notify_all(&l->changed);
	return seq;
}

uint64_t fs_log_seq(struct fs_log *l)
{
	unsigned long f = spin_lock(&l->lock);
	uint64_t s = l->seq;
	spin_unlock(&l->lock, f);
	return s;
}

void fs_durable_init(struct fs_durable *d, struct fs_log *l, uint64_t seq)
{
	d->l = l;
	d->seq = seq;
	d->waiting = false;
	d->result = 0;
}

enum poll fs_durable_poll(struct fs_durable *d, struct context *cx)
{
	struct fs_log *l = d->l;
	for (;;) {
		if (d->waiting) {
			if (notified_poll(&d->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			d->waiting = false;
		}
		unsigned long f = spin_lock(&l->lock);
		if (l->durable >= d->seq || l->error) {
			d->result = l->durable >= d->seq ? 0 : l->error;
			spin_unlock(&l->lock, f);
			return POLL_READY;
		}
		notified_init(&d->wait, &l->changed);
		d->waiting = true;
		bool c = l->committing;
		spin_unlock(&l->lock, f);
		if (c)
			drive(l);
	}
}

void fs_durable_drop(struct fs_durable *d)
{
	if (d->waiting)
		notified_drop(&d->wait);
	d->waiting = false;
}
