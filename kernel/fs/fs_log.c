/* The write-ahead log: reservations, group commit driven by its waiters, durability. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/fs_log.h"
#include "lib/uapi/pollux.h"

enum { PH_IDLE, PH_START, PH_LOG, PH_HEAD, PH_CKPT, PH_HOME, PH_CLEAR };

/* The log's waker: a commit request completed.  It wakes the one waiter
 * that drives next (the last one to call drive: drv_owner, drv_waker),
 * not every waiter: that made a commit of n blocks with w operations
 * waiting cost n * w polls.  If that waiter was already woken and has not
 * polled yet, the kick is enough (it will step the machine); if there is
 * none, everybody is woken.  Every waiter hears of the end of a commit
 * (notify_all in committed, checkpointed, fail), and a driving waiter
 * that leaves hands over to the others (leave()). */
static struct raw_waker lw_clone(const void *data);
static void lw_wake(const void *data)
{
	struct fs_log *l = (struct fs_log *)(uintptr_t)data;
	atomic_store(&l->kicked, true);
	unsigned long f = spin_lock(&l->lock);
	struct waker w = l->drv_waker;
	l->drv_waker = WAKER_NONE;
	bool owned = l->drv_owner != NULL;
	spin_unlock(&l->lock, f);
	if (!waker_is_none(&w))
		waker_wake(&w);
	else if (!owned)
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
		uint32_t alt, unsigned cur, uint32_t cap, uint64_t seq)
{
	memset(l, 0, sizeof(*l));
	spin_init(&l->lock);
	notify_init(&l->changed);
	l->cache = c;
	l->dev = dev;
	l->start = start;
	l->hblock[0] = start;
	l->hblock[1] = alt;
	l->hcur = cur & 1;
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
	memset(l->hdr, 0, FS_BLOCK_SIZE);
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
	waker_drop(&l->drv_waker);
	l->drv_owner = NULL;
}

/* ---- the commit machine (run by one driver at a time) ------------------------------*/

/* Write slots [from, l->n) to the log (home = false) or every slot home. */
static void issue_all(struct fs_log *l, uint32_t from, bool home)
{
	for (uint32_t i = from; i < l->n; i++) {
		struct fs_buf *b = l->bufs[i];
		l->io_done[i] = 0;
		l->dev->ops->write(l->dev, &b->req, home ? b->block : l->start + 1 + i, b->data);
	}
	l->from = from;
	l->left = l->n - from;
	l->fresh = true;
}

/* Poll this step's unfinished requests; true when all have finished.
 * *err: one of them failed.  The first pass polls every request (a
 * request is submitted at its first poll); later passes poll in slot
 * order and stop at the first one still pending: its completion wakes
 * the log again, and a request that waits for room in the device queue
 * was queued behind the earlier ones (the driver's queue is first come,
 * first served).  So a step of n requests costs O(n) polls in all, not
 * O(n) per completion. */
static bool poll_all(struct fs_log *l, struct context *cx, bool *err)
{
	bool all = l->fresh;
	l->fresh = false;
	for (uint32_t i = l->from; i < l->n && l->left; i++) {
		if (l->io_done[i])
			continue;
		struct fs_req *r = &l->bufs[i]->req;
		if (future_poll(&r->base, cx) == POLL_PENDING) {
			if (!all)
				break;
			continue;
		}
		l->io_done[i] = 1;
		l->left--;
		if (r->result)
			*err = true;
	}
	while (l->from < l->n && l->io_done[l->from])
		l->from++;
	return l->left == 0;
}

/* The header naming slots [0, count): the entries of the slots already
 * committed are in the page from the last header, and so is their crc
 * (blocks_crc); only the new slots' entries are written and added.
 * Entries past count are left as they are: nothing reads them. */
static void write_header(struct fs_log *l, uint32_t count)
{
	struct fs_log_header *h = l->hdr;
	uint32_t from = count ? l->ncommitted : 0;
	uint32_t crc = count ? l->blocks_crc : 0;
	h->magic = FS_LOG_MAGIC;
	h->count = count;
	h->seq = l->seq;
	h->reserved = 0;
	for (uint32_t i = from; i < count; i++)
		h->blocks[i] = l->bufs[i]->block;
	crc = fs_crc32_update(crc, &h->blocks[from], (count - from) * 4u);
	l->next_blocks_crc = crc;
	h->crc = fs_log_crc_fields(crc, h);
	/* Into the other header block: if this write is cut short, the
	 * newest complete header (and every slot it names) is still there. */
	l->dev->ops->write(l->dev, &l->hreq, l->hblock[l->hcur ^ 1], h);
}

/* The checkpoint's first step: a block committed in several transactions
 * has several slots; its current contents (the newest committed: no
 * transaction is open) go home once.  Each duplicate slot's reference is
 * dropped and the slots are packed. */
static void dedup(struct fs_log *l)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		struct fs_buf *b = l->bufs[i];
		if (b->logged) {
			fs_brelse(l->cache, b);
			continue;
		}
		b->logged = true; /* seen; cleared by release_all */
		l->bufs[k++] = b;
	}
	l->n = k;
}

/* Every slot leaves the log: each buffer is unlogged and released. */
static void release_all(struct fs_log *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		unsigned long f = spin_lock(&l->lock);
		l->bufs[i]->logged = false;
		spin_unlock(&l->lock, f);
		fs_brelse(l->cache, l->bufs[i]);
	}
}

static void fail(struct fs_log *l, bool installing)
{
	unsigned long f = spin_lock(&l->lock);
	l->error = -PX_EIO;
	l->committing = false;
	l->phase = PH_IDLE;
	spin_unlock(&l->lock, f);
	fs_env_say("fs: a write to the disk failed while %s; the file system now fails "
		   "every operation with EIO (remount to recover)",
		   installing ? "installing committed transactions" : "committing");
	notify_all(&l->changed);
}

/* The header is on the disk: the open transaction is durable.  Its slots
 * stay in the log (holding their buffers) until a checkpoint. */
static void committed(struct fs_log *l)
{
	unsigned long f = spin_lock(&l->lock);
	for (uint32_t i = l->ncommitted; i < l->n; i++)
		l->bufs[i]->logged = false;
	l->commits++;
	l->blocks_committed += l->n - l->ncommitted;
	l->ncommitted = l->n;
	l->blocks_crc = l->next_blocks_crc;
	l->hcur ^= 1;
	l->durable = l->seq;
	l->seq++;
	l->committing = false;
	l->phase = PH_IDLE;
	spin_unlock(&l->lock, f);
	notify_all(&l->changed);
}

/* Every slot is home and the header says count 0: the log is empty. */
static void checkpointed(struct fs_log *l)
{
	release_all(l);
	unsigned long f = spin_lock(&l->lock);
	l->checkpoints++;
	l->n = 0;
	l->ncommitted = 0;
	l->blocks_crc = 0;
	l->hcur ^= 1;
	/* The empty header took the open (empty) transaction's number, so
	 * that it is newer than the commit before it and older than the
	 * next: that transaction is done. */
	l->durable = l->seq;
	l->seq++;
	l->committing = false;
	l->phase = PH_IDLE;
	spin_unlock(&l->lock, f);
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
			issue_all(l, l->ncommitted, false);
			l->phase = PH_LOG;
			break;
		case PH_LOG:
			if (!poll_all(l, &cx, &err))
				return;
			if (err)
				return fail(l, false);
			write_header(l, l->n);   /* the commit point */
			l->phase = PH_HEAD;
			break;
		case PH_HEAD:
			if (future_poll(&l->hreq.base, &cx) == POLL_PENDING)
				return;
			if (l->hreq.result)
				return fail(l, false);
			return committed(l);
		case PH_CKPT:
			dedup(l);
			issue_all(l, 0, true);
			l->phase = PH_HOME;
			break;
		case PH_HOME:
			if (!poll_all(l, &cx, &err))
				return;
			if (err)
				return fail(l, true);
			write_header(l, 0);
			l->phase = PH_CLEAR;
			break;
		case PH_CLEAR:
			if (future_poll(&l->hreq.base, &cx) == POLL_PENDING)
				return;
			if (l->hreq.result)
				return fail(l, true);
			return checkpointed(l);
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

/* A waiter that is about to drive becomes the one the log's waker wakes.
 * Caller holds the log lock. */
static void own(struct fs_log *l, const void *who, struct context *cx)
{
	waker_register(&l->drv_waker, cx->waker);
	l->drv_owner = who;
}

/* A waiter is done waiting (ready or dropped).  Caller holds the log
 * lock; true if it was the driving one and a commit still runs: the
 * caller then wakes the others (notify_all) after unlocking. */
static bool leave(struct fs_log *l, const void *who)
{
	if (l->drv_owner != who)
		return false;
	l->drv_owner = NULL;
	struct waker w = l->drv_waker;
	l->drv_waker = WAKER_NONE;
	waker_drop(&w);
	return l->committing;
}

/* Called when polled while waiting: true to go on and look at the log
 * (notified, or this waiter drives and the log's waker has fired: it
 * took drv_waker). */
static bool wait_over(struct fs_log *l, const void *who, struct notified *wait,
		      struct context *cx)
{
	if (notified_poll(wait, cx) == POLL_READY)
		return true;
	unsigned long f = spin_lock(&l->lock);
	bool drv = l->drv_owner == who && waker_is_none(&l->drv_waker);
	spin_unlock(&l->lock, f);
	if (drv)
		notified_drop(wait);
	return drv;
}

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
			if (!wait_over(l, b, &b->wait, cx))
				return POLL_PENDING;
			b->waiting = false;
		}
		unsigned long f = spin_lock(&l->lock);
		if (l->error || b->want > l->cap) {
			b->result = l->error ? l->error : -PX_EINVAL;
			bool h = leave(l, b);
			spin_unlock(&l->lock, f);
			if (h)
				notify_all(&l->changed);
			return POLL_READY;
		}
		if (!l->committing && l->n + l->reserved + b->want <= l->cap) {
			l->reserved += b->want;
			l->outstanding++;
			leave(l, b); /* no commit runs: nothing to hand over */
			spin_unlock(&l->lock, f);
			b->result = 0;
			return POLL_READY;
		}
		/* No room, and no operation left to end: the log holds only
		 * committed slots, so install them and empty it. */
		if (!l->committing && l->outstanding == 0 && l->n > 0) {
			l->committing = true;
			l->phase = PH_CKPT;
		}
		notified_init(&b->wait, &l->changed);
		b->waiting = true;
		bool c = l->committing;
		if (c)
			own(l, b, cx);
		spin_unlock(&l->lock, f);
		if (c)
			drive(l);
	}
}

void fs_begin_drop(struct fs_begin *b)
{
	if (b->waiting) {
		notified_drop(&b->wait);
		unsigned long f = spin_lock(&b->l->lock);
		bool h = leave(b->l, b);
		spin_unlock(&b->l->lock, f);
		if (h)
			notify_all(&b->l->changed);
	}
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
		if (l->n > l->ncommitted) {
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
	d->empty = false;
	d->waiting = false;
	d->result = 0;
}

enum poll fs_durable_poll(struct fs_durable *d, struct context *cx)
{
	struct fs_log *l = d->l;
	for (;;) {
		if (d->waiting) {
			if (!wait_over(l, d, &d->wait, cx))
				return POLL_PENDING;
			d->waiting = false;
		}
		unsigned long f = spin_lock(&l->lock);
		bool done = l->durable >= d->seq && (!d->empty || (l->n == 0 && !l->committing));
		if (done || l->error) {
			d->result = done ? 0 : l->error;
			bool h = leave(l, d);
			spin_unlock(&l->lock, f);
			if (h)
				notify_all(&l->changed);
			return POLL_READY;
		}
		if (d->empty && l->durable >= d->seq && !l->committing && l->outstanding == 0 &&
		    l->n == l->ncommitted) {
			l->committing = true;
			l->phase = PH_CKPT;
		}
		notified_init(&d->wait, &l->changed);
		d->waiting = true;
		bool c = l->committing;
		if (c)
			own(l, d, cx);
		spin_unlock(&l->lock, f);
		if (c)
			drive(l);
	}
}

void fs_durable_drop(struct fs_durable *d)
{
	if (d->waiting) {
		notified_drop(&d->wait);
		unsigned long f = spin_lock(&d->l->lock);
		bool h = leave(d->l, d);
		spin_unlock(&d->l->lock, f);
		if (h)
			notify_all(&d->l->changed);
	}
	d->waiting = false;
}
