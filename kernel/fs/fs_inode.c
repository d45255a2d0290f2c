/* Inodes: the in-memory table, locking and loading, block maps, allocation, truncation. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_impl.h"

void fs_damaged(struct fs *fs, const char *what, uint32_t where)
{
	(void)fs;
	fs_env_say("fs: damaged disk: %s %u; the operation fails with EIO", what, where);
}

/* ---- the in-memory inode table -------------------------------------------------------*/

/* An entry that must not be reused: unlinked, last reference gone, its
 * blocks not yet freed (fs_reclaim finds it by this).  Caller holds
 * fs->itab_lock. */
static bool awaiting_reclaim(const struct fs_inode *ip)
{
	return ip->refs == 0 && ip->orphaned;
}

static void unhash(struct fs *fs, struct fs_inode *ip)
{
	struct fs_inode **pp = &fs->ihash[ip->inum % FS_IHASH];
	while (*pp != ip)
		pp = &(*pp)->hnext;
	*pp = ip->hnext;
	ip->hashed = false;
}

/* The entry of inum (found on its hash chain), or a free entry renamed
 * to it: the first one from fs->ispare on that nobody holds, round the
 * table, so the entries of recently used inodes stay cached longest. */
struct fs_inode *fs_iget(struct fs *fs, uint32_t inum)
{
	struct fs_inode *ip = NULL;
	unsigned long f = spin_lock(&fs->itab_lock);
	for (struct fs_inode *e = fs->ihash[inum % FS_IHASH]; e; e = e->hnext) {
		if (e->inum == inum && (e->refs > 0 || e->valid)) {
			ip = e;
			break;
		}
	}
	for (uint32_t k = 0; !ip && k < fs->ninode; k++) {
		uint32_t i = (fs->ispare + k) % fs->ninode;
		struct fs_inode *e = fs->itab[i];
		if (e->refs != 0 || awaiting_reclaim(e))
			continue;
		fs->ispare = (i + 1) % fs->ninode;
		if (e->hashed)
			unhash(fs, e);
		ip = e;
		ip->inum = inum;
		ip->valid = false;
		ip->dirty_seq = 0;
		ip->hnext = fs->ihash[inum % FS_IHASH];
		fs->ihash[inum % FS_IHASH] = ip;
		ip->hashed = true;
	}
	if (ip)
		ip->refs++;
	spin_unlock(&fs->itab_lock, f);
	return ip;
}

struct fs_inode *fs_idup(struct fs *fs, struct fs_inode *ip)
{
	unsigned long f = spin_lock(&fs->itab_lock);
	ip->refs++;
	spin_unlock(&fs->itab_lock, f);
	return ip;
}

bool fs_iput(struct fs *fs, struct fs_inode *ip)
{
	fs_env_race_point(); /* a reference dropped a little late */
	unsigned long f = spin_lock(&fs->itab_lock);
	ip->refs--;
	bool last = awaiting_reclaim(ip);
	if (last)
		fs->reclaim++;
	spin_unlock(&fs->itab_lock, f);
	return last;
}

unsigned fs_inode_type(struct fs_inode *ip)
{
	return ip->d.type == FS_T_DIR ? PX_S_DIR : PX_S_REG;
}

uint32_t fs_inode_num(struct fs_inode *ip)
{
	return ip->inum;
}

uint64_t fs_inode_size(struct fs_inode *ip)
{
	/* A snapshot without the inode lock: one aligned 64-bit load, which a
	 * write that moves the size may overtake at once. */
	return __atomic_load_n(&ip->d.size, __ATOMIC_RELAXED);
}

/* ---- lock and load -------------------------------------------------------------------*/

static uint32_t iblock(const struct fs *fs, uint32_t inum)
{
	return fs->sb.inode_start + inum / FS_INODES_PER_BLOCK;
}

/* Is the disk inode usable?  NULL, or what is wrong with it. */
static const char *dinode_invalid(const struct fs *fs, const struct fs_dinode *d)
{
	if (d->type != FS_T_FILE && d->type != FS_T_DIR)
		return "a directory entry names a free or unknown inode";
	if (d->size > FS_MAX_FILE_SIZE)
		return "inode size too large";
	if (d->type == FS_T_DIR &&
	    (d->size == 0 || d->size % FS_BLOCK_SIZE || d->dindirect ||
	     d->size > (uint64_t)FS_DIR_MAX_BLOCKS * FS_BLOCK_SIZE))
		return "directory size or shape impossible";
	for (uint32_t i = 0; i < FS_NDIRECT; i++)
		if (d->direct[i] && !fs_block_ok(fs, d->direct[i]))
			return "inode block pointer out of range";
	if ((d->indirect && !fs_block_ok(fs, d->indirect)) ||
	    (d->dindirect && !fs_block_ok(fs, d->dindirect)))
		return "inode indirect pointer out of range";
	return NULL;
}

void fs_ilock_init(struct fs_ilock *l, struct fs *fs, struct fs_inode *ip)
{
	l->fs = fs;
	l->ip = ip;
	l->state = ASYNC_INIT;
	l->live = 0;
	l->result = 0;
}

enum poll fs_ilock_poll(struct fs_ilock *l, struct context *cx)
{
	struct fs *fs = l->fs;
	struct fs_inode *ip = l->ip;
	ASYNC_BEGIN(l);
	/* A free lock has no waiters (unlock hands it over), so taking it
	 * here keeps the queue's order and skips the lock future. */
	if (!mutex_try_lock(&ip->lock)) {
		mutex_lock_init(&l->ml, &ip->lock);
		l->live = 1;
		AWAIT(l, mutex_lock_poll(&l->ml, cx));
		l->live = 0;
	}
	if (!ip->valid) {
		if (ip->inum == 0 || ip->inum >= fs->sb.ninodes) {
			fs_damaged(fs, "inode number out of range:", ip->inum);
			mutex_unlock(&ip->lock);
			l->result = -PX_EIO;
			ASYNC_RETURN(l);
		}
		fs_bget_init(&l->g, &fs->cache, iblock(fs, ip->inum), false);
		l->live = 2;
		AWAIT(l, fs_bget_poll(&l->g, cx));
		l->live = 0;
		if (l->g.result) {
			mutex_unlock(&ip->lock);
			l->result = l->g.result;
			ASYNC_RETURN(l);
		}
		const struct fs_dinode *d = l->g.b->data;
		ip->d = d[ip->inum % FS_INODES_PER_BLOCK];
		fs_brelse(&fs->cache, l->g.b);
		const char *why = dinode_invalid(fs, &ip->d);
		if (why) {
			fs_damaged(fs, why, ip->inum);
			memset(&ip->d, 0, sizeof(ip->d));
			mutex_unlock(&ip->lock);
			l->result = -PX_EIO;
			ASYNC_RETURN(l);
		}
		ip->valid = true;
	}
	l->result = 0;
	ASYNC_END(l);
}

void fs_ilock_drop(struct fs_ilock *l)
{
	if (l->live == 1)
		mutex_lock_drop(&l->ml);
	if (l->live == 2) {
		fs_bget_drop(&l->g);
		mutex_unlock(&l->ip->lock);
	}
	l->live = 0;
}

bool fs_ilock_now(struct fs_inode *ip)
{
	if (!mutex_try_lock(&ip->lock))
		return false;
	if (ip->valid)
		return true;
	mutex_unlock(&ip->lock);
	return false;
}

void fs_iunlock(struct fs_inode *ip)
{
	mutex_unlock(&ip->lock);
}

/* ---- write the inode back ------------------------------------------------------------*/

void fs_iupdate_init(struct fs_iupdate *u, struct fs *fs, struct fs_inode *ip)
{
	u->fs = fs;
	u->ip = ip;
	u->state = ASYNC_INIT;
	u->result = 0;
}

enum poll fs_iupdate_poll(struct fs_iupdate *u, struct context *cx)
{
	struct fs *fs = u->fs;
	ASYNC_BEGIN(u);
	fs_bget_init(&u->g, &fs->cache, iblock(fs, u->ip->inum), false);
	AWAIT(u, fs_bget_poll(&u->g, cx));
	u->result = u->g.result;
	if (!u->result) {
		struct fs_dinode *d = (struct fs_dinode *)u->g.b->data + u->ip->inum % FS_INODES_PER_BLOCK;
		unsigned long f = spin_lock(&fs->dinode_lock);
		uint32_t next_orphan = d->next_orphan; /* owned by the orphan list code */
		*d = u->ip->d;
		d->next_orphan = next_orphan;
		spin_unlock(&fs->dinode_lock, f);
		fs_log_write(&fs->log, u->g.b);
		fs_brelse(&fs->cache, u->g.b);
		u->ip->dirty_seq = fs_log_seq(&fs->log);
	}
	ASYNC_END(u);
}

/* ---- bitmaps -------------------------------------------------------------------------*/

void fs_alloc_init(struct fs_alloc *a, struct fs *fs, bool inode)
{
	a->fs = fs;
	a->inode = inode;
	a->state = ASYNC_INIT;
	a->result = 0;
	a->got = 0;
}

/* A clear bit of bitmap block bi (in the bitmap `map`), set now; 0 if none. */
static uint32_t take_bit(struct fs *fs, bool inode, uint32_t bi, uint64_t *map)
{
	uint32_t limit = inode ? fs->sb.ninodes : fs->sb.nblocks;
	uint32_t lo = inode ? 1 : fs->sb.data_start;
	uint32_t base = bi * FS_BLOCK_SIZE * 8;
	for (uint32_t w = 0; w < FS_BLOCK_SIZE / 8; w++) {
		if (map[w] == ~0ull)
			continue;
		for (uint32_t k = 0; k < 64; k++) {
			uint32_t n = base + w * 64 + k;
			if (n >= limit)
				return 0;
			if (n < lo || (map[w] >> k) & 1)
				continue;
			map[w] |= 1ull << k;
			return n;
		}
	}
	return 0;
}

enum poll fs_alloc_poll(struct fs_alloc *a, struct context *cx)
{
	struct fs *fs = a->fs;
	uint32_t nmap = a->inode ? fs->sb.ibitmap_blocks : fs->sb.bbitmap_blocks;
	uint32_t start = a->inode ? fs->sb.ibitmap_start : fs->sb.bbitmap_start;
	ASYNC_BEGIN(a);
	{
		unsigned long f = spin_lock(&fs->alloc_lock);
		uint32_t nfree = a->inode ? fs->free_inodes : fs->free_blocks;
		a->bi = (a->inode ? fs->ihint : fs->bhint) % nmap;
		spin_unlock(&fs->alloc_lock, f);
		if (nfree == 0) {
			a->result = -PX_ENOSPC;
			ASYNC_RETURN(a);
		}
	}
	for (a->tried = 0; a->tried < nmap; a->tried++, a->bi = (a->bi + 1) % nmap) {
		fs_bget_init(&a->g, &fs->cache, start + a->bi, false);
		AWAIT(a, fs_bget_poll(&a->g, cx));
		if (a->g.result) {
			a->result = a->g.result;
			ASYNC_RETURN(a);
		}
		{
			unsigned long f = spin_lock(&fs->alloc_lock);
			a->got = take_bit(fs, a->inode, a->bi, a->g.b->data);
			if (a->got) {
				if (a->inode) {
					fs->free_inodes--;
					fs->ihint = a->bi;
				} else {
					fs->free_blocks--;
					fs->bhint = a->bi;
				}
			}
			spin_unlock(&fs->alloc_lock, f);
			if (a->got)
				fs_log_write(&fs->log, a->g.b);
			fs_brelse(&fs->cache, a->g.b);
		}
		if (a->got)
			break;
	}
	if (!a->got) {
		a->result = -PX_ENOSPC;
		ASYNC_RETURN(a);
	}
	if (!a->inode) {
		/* A new block starts as zeros, inside the transaction. */
		fs_bget_init(&a->g, &fs->cache, a->got, true);
		AWAIT(a, fs_bget_poll(&a->g, cx));
		if (a->g.result) {
			a->result = a->g.result;
			ASYNC_RETURN(a);
		}
		fs_log_write(&fs->log, a->g.b);
		fs_brelse(&fs->cache, a->g.b);
	}
	a->result = 0;
	ASYNC_END(a);
}

void fs_free_init(struct fs_free *fr, struct fs *fs)
{
	fr->fs = fs;
	fr->state = ASYNC_INIT;
	fr->result = 0;
}

enum poll fs_free_poll(struct fs_free *fr, struct context *cx, bool inode, uint32_t n)
{
	struct fs *fs = fr->fs;
	uint32_t start = inode ? fs->sb.ibitmap_start : fs->sb.bbitmap_start;
	ASYNC_BEGIN(fr);
	fs_bget_init(&fr->g, &fs->cache, start + n / (FS_BLOCK_SIZE * 8), false);
	AWAIT(fr, fs_bget_poll(&fr->g, cx));
	if (fr->g.result) {
		fr->result = fr->g.result;
		ASYNC_RETURN(fr);
	}
	{
		uint8_t *map = fr->g.b->data;
		uint32_t k = n % (FS_BLOCK_SIZE * 8);
		unsigned long f = spin_lock(&fs->alloc_lock);
		bool was = (map[k / 8] >> (k % 8)) & 1;
		if (was) {
			map[k / 8] &= (uint8_t)~(1u << (k % 8));
			if (inode)
				fs->free_inodes++;
			else
				fs->free_blocks++;
		}
		spin_unlock(&fs->alloc_lock, f);
		if (was)
			fs_log_write(&fs->log, fr->g.b);
		fs_brelse(&fs->cache, fr->g.b);
		if (!was) {
			fs_damaged(fs, inode ? "freeing an inode already free:" :
					       "freeing a block already free:", n);
			fr->result = -PX_EIO;
			ASYNC_RETURN(fr);
		}
	}
	fr->result = 0;
	ASYNC_END(fr);
}

/* ---- block map -----------------------------------------------------------------------*/

void fs_bmap_init(struct fs_bmap *m, struct fs *fs, struct fs_inode *ip, uint64_t fbn, bool alloc)
{
	m->fs = fs;
	m->ip = ip;
	m->fbn = fbn;
	m->alloc = alloc;
	m->fresh = false;
	m->state = ASYNC_INIT;
	m->live = 0;
	m->block = 0;
	m->result = 0;
	if (fbn < FS_NDIRECT) {
		m->nlvl = 0;
	} else if (fbn < FS_NDIRECT + FS_NINDIRECT) {
		m->nlvl = 1;
		m->idx[0] = (uint32_t)(fbn - FS_NDIRECT);
	} else {
		uint64_t r = fbn - FS_NDIRECT - FS_NINDIRECT;
		m->nlvl = 2;
		m->idx[0] = (uint32_t)(r / FS_NINDIRECT);
		m->idx[1] = (uint32_t)(r % FS_NINDIRECT);
	}
}

enum poll fs_bmap_poll(struct fs_bmap *m, struct context *cx)
{
	struct fs *fs = m->fs;
	struct fs_dinode *d = &m->ip->d;
	ASYNC_BEGIN(m);
	if (m->fbn >= FS_MAX_FILE_BLOCKS ||
	    (d->type == FS_T_DIR && m->fbn >= FS_DIR_MAX_BLOCKS)) {
		m->result = -PX_EFBIG;
		ASYNC_RETURN(m);
	}
	if (m->nlvl == 0) {
		m->block = d->direct[m->fbn];
		if (m->block || !m->alloc)
			ASYNC_RETURN(m);
		fs_alloc_init(&m->a, fs, false);
		AWAIT(m, fs_alloc_poll(&m->a, cx));
		if ((m->result = m->a.result))
			ASYNC_RETURN(m);
		d->direct[m->fbn] = m->block = m->a.got;
		d->blocks++;
		m->fresh = true;
		ASYNC_RETURN(m);
	}
	m->cur = m->nlvl == 1 ? d->indirect : d->dindirect;
	if (!m->cur) {
		if (!m->alloc)
			ASYNC_RETURN(m);
		fs_alloc_init(&m->a, fs, false);
		AWAIT(m, fs_alloc_poll(&m->a, cx));
		if ((m->result = m->a.result))
			ASYNC_RETURN(m);
		m->cur = m->a.got;
		if (m->nlvl == 1)
			d->indirect = m->cur;
		else
			d->dindirect = m->cur;
		d->blocks++;
	}
	for (m->lvl = 0; m->lvl < m->nlvl; m->lvl++) {
		/* A cached table is read in place, under the cache lock, not
		 * held and let go (nor its release's wake-up). */
		if (!fs_cache_peek32(&fs->cache, m->cur, m->idx[m->lvl], &m->v)) {
			fs_bget_init(&m->g, &fs->cache, m->cur, false);
			m->live = 1;
			AWAIT(m, fs_bget_poll(&m->g, cx));
			m->live = 0;
			if ((m->result = m->g.result))
				ASYNC_RETURN(m);
			m->v = ((uint32_t *)m->g.b->data)[m->idx[m->lvl]];
			fs_brelse(&fs->cache, m->g.b);
		}
		if (m->v && !fs_block_ok(fs, m->v)) {
			fs_damaged(fs, "indirect block holds an out-of-range pointer; block", m->cur);
			m->result = -PX_EIO;
			ASYNC_RETURN(m);
		}
		if (!m->v) {
			if (!m->alloc) {
				m->block = 0;
				ASYNC_RETURN(m);
			}
			fs_alloc_init(&m->a, fs, false);
			AWAIT(m, fs_alloc_poll(&m->a, cx));
			if ((m->result = m->a.result))
				ASYNC_RETURN(m);
			fs_bget_init(&m->g, &fs->cache, m->cur, false);
			AWAIT(m, fs_bget_poll(&m->g, cx));
			if ((m->result = m->g.result))
				ASYNC_RETURN(m);
			m->v = m->a.got;
			((uint32_t *)m->g.b->data)[m->idx[m->lvl]] = m->v;
			fs_log_write(&fs->log, m->g.b);
			fs_brelse(&fs->cache, m->g.b);
			d->blocks++;
			if (m->lvl == m->nlvl - 1)
				m->fresh = true;
		}
		m->cur = m->v;
	}
	m->block = m->cur;
	ASYNC_END(m);
}

uint32_t fs_bmap_peek(struct fs *fs, struct fs_inode *ip, uint64_t fbn)
{
	const struct fs_dinode *d = &ip->d;
	uint32_t v = 0;
	if (fbn < FS_NDIRECT) {
		v = d->direct[fbn];
	} else if (fbn < FS_NDIRECT + FS_NINDIRECT) {
		if (!d->indirect || !fs_cache_peek32(&fs->cache, d->indirect,
						     (uint32_t)(fbn - FS_NDIRECT), &v))
			return 0;
	} else if (fbn < FS_MAX_FILE_BLOCKS) {
		uint64_t r = fbn - FS_NDIRECT - FS_NINDIRECT;
		uint32_t t = 0;
		if (!d->dindirect ||
		    !fs_cache_peek32(&fs->cache, d->dindirect, (uint32_t)(r / FS_NINDIRECT), &t) ||
		    !fs_block_ok(fs, t) ||
		    !fs_cache_peek32(&fs->cache, t, (uint32_t)(r % FS_NINDIRECT), &v))
			return 0;
	}
	return fs_block_ok(fs, v) ? v : 0;
}

/* Only read-only maps are ever dropped (one that allocates runs inside a
 * busy operation); it holds nothing but a buffer wait. */
void fs_bmap_drop(struct fs_bmap *m)
{
	if (m->live == 1)
		fs_bget_drop(&m->g);
	m->live = 0;
}

/* ---- truncation ----------------------------------------------------------------------*/

void fs_itrunc_init(struct fs_itrunc *t, struct fs *fs, struct fs_inode *ip, uint64_t from)
{
	t->fs = fs;
	t->ip = ip;
	t->from = from;
	t->state = ASYNC_INIT;
	t->result = 0;
}

/* The first non-zero entry at or after i in table t (held); 1024 if none. */
static uint32_t next_used(const uint32_t *t, uint32_t i)
{
	while (i < FS_NINDIRECT && !t[i])
		i++;
	return i;
}

/*
 * Free every block of the table `tbl` from entry `i` on: each entry's
 * block is freed, and the entry cleared if the table is kept (`keep`).
 * Written as a macro-free sub-machine inside fs_itrunc_poll below: it
 * uses t->tbl, t->i, t->v, t->keep.
 */
enum poll fs_itrunc_poll(struct fs_itrunc *t, struct context *cx)
{
	struct fs *fs = t->fs;
	struct fs_dinode *d = &t->ip->d;
	ASYNC_BEGIN(t);
	atomic_fetch_add(&t->ip->tgen, 1); /* before any block is freed */
	/* direct blocks */
	for (t->i = t->from < FS_NDIRECT ? (uint32_t)t->from : FS_NDIRECT; t->i < FS_NDIRECT; t->i++) {
		t->v = d->direct[t->i];
		if (!t->v)
			continue;
		d->direct[t->i] = 0;
		d->blocks--;
		fs_free_init(&t->fr, fs);
		AWAIT(t, fs_free_poll(&t->fr, cx, false, t->v));
		if ((t->result = t->fr.result))
			ASYNC_RETURN(t);
	}
	/* the single-indirect range, then each table of the double-indirect
	 * one: lvl_i == FS_NINDIRECT stands for the single indirect */
	for (t->lvl_i = FS_NINDIRECT; ; ) {
		{
			uint64_t base, start;
			if (t->lvl_i == FS_NINDIRECT) {
				t->tbl = d->indirect;
				base = FS_NDIRECT;
			} else {
				t->tbl = t->v; /* set below from the double-indirect table */
				base = FS_NDIRECT + FS_NINDIRECT + (uint64_t)t->lvl_i * FS_NINDIRECT;
			}
			start = t->from > base ? t->from - base : 0;
			if (!t->tbl || start >= FS_NINDIRECT)
				goto next_table;
			t->i = (uint32_t)start;
			t->keep = start > 0;
		}
		for (;;) {
			fs_bget_init(&t->g, &fs->cache, t->tbl, false);
			AWAIT(t, fs_bget_poll(&t->g, cx));
			if ((t->result = t->g.result))
				ASYNC_RETURN(t);
			{
				uint32_t *e = t->g.b->data;
				t->i = next_used(e, t->i);
				t->v = t->i < FS_NINDIRECT ? e[t->i] : 0;
				if (t->v && t->keep) {
					e[t->i] = 0;
					fs_log_write(&fs->log, t->g.b);
				}
				fs_brelse(&fs->cache, t->g.b);
			}
			if (!t->v)
				break;
			if (!fs_block_ok(fs, t->v)) {
				fs_damaged(fs, "indirect block holds an out-of-range pointer; block", t->tbl);
				t->result = -PX_EIO;
				ASYNC_RETURN(t);
			}
			d->blocks--;
			fs_free_init(&t->fr, fs);
			AWAIT(t, fs_free_poll(&t->fr, cx, false, t->v));
			if ((t->result = t->fr.result))
				ASYNC_RETURN(t);
			t->i++;
		}
		if (!t->keep) {
			/* the whole table goes: unhook it, then free it */
			if (t->lvl_i == FS_NINDIRECT) {
				d->indirect = 0;
			} else {
				fs_bget_init(&t->g, &fs->cache, d->dindirect, false);
				AWAIT(t, fs_bget_poll(&t->g, cx));
				if ((t->result = t->g.result))
					ASYNC_RETURN(t);
				((uint32_t *)t->g.b->data)[t->lvl_i] = 0;
				fs_log_write(&fs->log, t->g.b);
				fs_brelse(&fs->cache, t->g.b);
			}
			d->blocks--;
			fs_free_init(&t->fr, fs);
			AWAIT(t, fs_free_poll(&t->fr, cx, false, t->tbl));
			if ((t->result = t->fr.result))
				ASYNC_RETURN(t);
		}
next_table:
		/* the next table of the double-indirect block that is in use */
		if (!d->dindirect)
			break;
		t->lvl_i = t->lvl_i == FS_NINDIRECT ? 0 : t->lvl_i + 1;
		{
			uint64_t first = FS_NDIRECT + FS_NINDIRECT;
			uint64_t skip = t->from > first ? (t->from - first) / FS_NINDIRECT : 0;
			if (t->lvl_i < skip)
				t->lvl_i = (uint32_t)skip;
		}
		if (t->lvl_i >= FS_NINDIRECT)
			break;
		fs_bget_init(&t->g, &fs->cache, d->dindirect, false);
		AWAIT(t, fs_bget_poll(&t->g, cx));
		if ((t->result = t->g.result))
			ASYNC_RETURN(t);
		{
			uint32_t *e = t->g.b->data;
			t->lvl_i = next_used(e, t->lvl_i);
			t->v = t->lvl_i < FS_NINDIRECT ? e[t->lvl_i] : 0;
			fs_brelse(&fs->cache, t->g.b);
		}
		if (t->lvl_i >= FS_NINDIRECT)
			break;
		if (!fs_block_ok(fs, t->v)) {
			fs_damaged(fs, "double-indirect block holds an out-of-range pointer; block",
				   d->dindirect);
			t->result = -PX_EIO;
			ASYNC_RETURN(t);
		}
	}
	/* the double-indirect block itself, if nothing it maps survives */
	if (d->dindirect && t->from <= FS_NDIRECT + FS_NINDIRECT) {
		t->v = d->dindirect;
		d->dindirect = 0;
		d->blocks--;
		fs_free_init(&t->fr, fs);
		AWAIT(t, fs_free_poll(&t->fr, cx, false, t->v));
		if ((t->result = t->fr.result))
			ASYNC_RETURN(t);
	}
	t->result = 0;
	ASYNC_END(t);
}
