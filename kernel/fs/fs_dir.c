/* Directories and paths: lookup, adding and clearing entries, walking a path. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_impl.h"

int fs_name_check(const char *name, uint32_t len)
{
	(void)name;
	if (len == 0)
		return -PX_ENOENT;
	if (len > FS_NAME_MAX)
		return -PX_ENAMETOOLONG;
	return 0;
}

/* ---- the name cache ------------------------------------------------------------------*/

static struct fs_name *name_slot(struct fs *fs, uint32_t dir, const char *name, uint32_t len)
{
	uint32_t h = dir * 2654435761u;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return &fs->names[(h ^ (h >> 15)) % FS_NAMES];
}

void fs_name_remember(struct fs *fs, struct fs_inode *dp, const char *name, uint32_t len,
		      uint32_t inum)
{
	if (!fs->names || len > FS_NAME_CACHED || dp->d.type != FS_T_DIR)
		return;
	struct fs_name *e = name_slot(fs, dp->inum, name, len);
	unsigned long f = spin_lock(&fs->names_lock);
	e->dir = dp->inum;
	e->inum = inum;
	e->gen = fs->names_gen;
	e->len = (uint8_t)len;
	memcpy(e->name, name, len);
	spin_unlock(&fs->names_lock, f);
}

/*
 * The reference is taken under names_lock, so the name was current when
 * it was taken: a removal changes the entry (fs_names_forget, under the
 * same lock) before it asks whether anyone else holds the inode, and
 * then sees this reference and leaves the inode to the reclaim.  Taken
 * after the lock was let go, it could land on an inode that had been
 * freed meanwhile, or on a new one given the same number.
 * (Lock order: names_lock, then itab_lock inside fs_iget.)
 */
enum fs_recall fs_name_recall(struct fs *fs, uint32_t dir, const char *name, uint32_t len,
			      struct fs_inode **ipp)
{
	if (!fs->names || len > FS_NAME_CACHED)
		return FS_RECALL_MISS;
	struct fs_name *e = name_slot(fs, dir, name, len);
	enum fs_recall r = FS_RECALL_MISS;
	unsigned long f = spin_lock(&fs->names_lock);
	if (e->gen == fs->names_gen && e->dir == dir && e->len == len && e->inum &&
	    memcmp(e->name, name, len) == 0) {
		fs_env_race_point(); /* between the answer and the reference */
		r = (*ipp = fs_iget(fs, e->inum)) ? FS_RECALL_HIT : FS_RECALL_NO_ENTRY;
	}
	spin_unlock(&fs->names_lock, f);
	return r;
}

void fs_names_forget(struct fs *fs)
{
	if (!fs->names)
		return;
	unsigned long f = spin_lock(&fs->names_lock);
	/* A generation that comes round again must find no entry of its
	 * first time: empty the page when the count wraps. */
	if (++fs->names_gen == 0)
		memset(fs->names, 0, FS_NAMES * sizeof(struct fs_name));
	spin_unlock(&fs->names_lock, f);
}

/* ---- lookup ------------------------------------------------------------------------*/

void fs_dirlookup_init(struct fs_dirlookup *d, struct fs *fs, struct fs_inode *dp,
		       const char *name, uint32_t len)
{
	d->fs = fs;
	d->dp = dp;
	d->name = name;
	d->len = len;
	d->want_inum = 0;
	d->name_out = NULL;
	d->state = ASYNC_INIT;
	d->live = 0;
	d->result = 0;
	d->inum = 0;
	d->free_slot = UINT32_MAX;
}

void fs_dirlookup_inum_init(struct fs_dirlookup *d, struct fs *fs, struct fs_inode *dp,
			    uint32_t inum, char *name_out)
{
	fs_dirlookup_init(d, fs, dp, NULL, 0);
	d->want_inum = inum;
	d->name_out = name_out;
}

/* Look for d's entry in directory block d->bi (its bytes at blk): 0 when
 * found (d->inum, type, slot and name_out set), -PX_ENOENT when not here
 * (d->free_slot noted), -PX_EIO (said) for an invalid entry. */
static int scan(struct fs_dirlookup *d, const void *blk)
{
	struct fs *fs = d->fs;
	const struct fs_dirent *e = blk;
	for (uint32_t k = 0; k < FS_DIRENTS_PER_BLOCK; k++, e++) {
		if (!e->inum) {
			if (d->free_slot == UINT32_MAX && (d->bi > 0 || k >= 2))
				d->free_slot = d->bi * FS_DIRENTS_PER_BLOCK + k;
			continue;
		}
		if (e->inum >= fs->sb.ninodes || e->name_len == 0 || e->name_len > FS_NAME_MAX) {
			fs_damaged(fs, "invalid directory entry in directory", d->dp->inum);
			return -PX_EIO;
		}
		bool dots = d->bi == 0 && k < 2;
		if (d->want_inum ? !dots && e->inum == d->want_inum
		    : d->name    ? e->name_len == d->len && memcmp(e->name, d->name, d->len) == 0
				 : !dots) {
			if (d->name_out) {
				memcpy(d->name_out, e->name, e->name_len);
				d->len = e->name_len;
			}
			d->inum = e->inum;
			d->type = e->type;
			d->slot = d->bi * FS_DIRENTS_PER_BLOCK + k;
			if (d->name && !d->want_inum)
				fs_name_remember(fs, d->dp, d->name, d->len, d->inum);
			return 0;
		}
	}
	return -PX_ENOENT;
}

enum poll fs_dirlookup_poll(struct fs_dirlookup *d, struct context *cx)
{
	struct fs *fs = d->fs;
	ASYNC_BEGIN(d);
	d->nblk = (uint32_t)(d->dp->d.size / FS_BLOCK_SIZE);
	for (d->bi = 0; d->bi < d->nblk; d->bi++) {
		fs_bmap_init(&d->m, fs, d->dp, d->bi, false);
		d->live = 1;
		AWAIT(d, fs_bmap_poll(&d->m, cx));
		d->live = 0;
		if ((d->result = d->m.result))
			ASYNC_RETURN(d);
		if (!d->m.block) {
			fs_damaged(fs, "directory has a hole: inode", d->dp->inum);
			d->result = -PX_EIO;
			ASYNC_RETURN(d);
		}
		fs_bget_init(&d->g, &fs->cache, d->m.block, false);
		d->live = 2;
		AWAIT(d, fs_bget_poll(&d->g, cx));
		d->live = 0;
		if ((d->result = d->g.result))
			ASYNC_RETURN(d);
		{
			int r = scan(d, d->g.b->data);
			fs_brelse(&fs->cache, d->g.b);
			if (r != -PX_ENOENT) {
				d->result = r;
				ASYNC_RETURN(d);
			}
		}
	}
	d->result = -PX_ENOENT;
	ASYNC_END(d);
}

int64_t fs_dirlookup_now(struct fs *fs, struct fs_inode *dp, const char *name, uint32_t len,
			 uint32_t *inum)
{
	struct fs_dirlookup d;
	fs_dirlookup_init(&d, fs, dp, name, len);
	uint32_t nblk = (uint32_t)(dp->d.size / FS_BLOCK_SIZE);
	for (d.bi = 0; d.bi < nblk; d.bi++) {
		/* A hole is damage: the lookup's future says so. */
		uint32_t block = fs_bmap_peek(fs, dp, d.bi);
		struct fs_buf *b = block ? fs_bget_now(&fs->cache, block) : NULL;
		if (!b)
			return FS_WOULD_WAIT;
		int64_t r = scan(&d, b->data);
		fs_brelse(&fs->cache, b);
		if (r != -PX_ENOENT) {
			*inum = d.inum;
			return r;
		}
	}
	return -PX_ENOENT;
}

void fs_dirlookup_drop(struct fs_dirlookup *d)
{
	if (d->live == 1)
		fs_bmap_drop(&d->m);
	if (d->live == 2)
		fs_bget_drop(&d->g);
	d->live = 0;
}

/* ---- set or clear one entry ----------------------------------------------------------*/

void fs_dirset_init(struct fs_dirset *s, struct fs *fs, struct fs_inode *dp, uint32_t slot)
{
	s->fs = fs;
	s->dp = dp;
	s->slot = slot;
	s->state = ASYNC_INIT;
	s->result = 0;
}

enum poll fs_dirset_poll(struct fs_dirset *s, struct context *cx, const char *name,
			 uint32_t len, uint32_t inum, uint8_t type)
{
	struct fs *fs = s->fs;
	ASYNC_BEGIN(s);
	if (s->slot == UINT32_MAX) {
		/* no free slot: a new block at the end */
		s->slot = (uint32_t)(s->dp->d.size / FS_BLOCK_SIZE) * FS_DIRENTS_PER_BLOCK;
		fs_bmap_init(&s->m, fs, s->dp, s->slot / FS_DIRENTS_PER_BLOCK, true);
		AWAIT(s, fs_bmap_poll(&s->m, cx));
		if ((s->result = s->m.result)) {
			if (s->result == -PX_EFBIG)
				s->result = -PX_ENOSPC; /* the directory is as big as it gets */
			ASYNC_RETURN(s);
		}
		s->dp->d.size += FS_BLOCK_SIZE;
		fs_iupdate_init(&s->u, fs, s->dp);
		AWAIT(s, fs_iupdate_poll(&s->u, cx));
		if ((s->result = s->u.result))
			ASYNC_RETURN(s);
	}
	fs_bmap_init(&s->m, fs, s->dp, s->slot / FS_DIRENTS_PER_BLOCK, false);
	AWAIT(s, fs_bmap_poll(&s->m, cx));
	if ((s->result = s->m.result))
		ASYNC_RETURN(s);
	if (!s->m.block) {
		fs_damaged(fs, "directory has a hole: inode", s->dp->inum);
		s->result = -PX_EIO;
		ASYNC_RETURN(s);
	}
	fs_bget_init(&s->g, &fs->cache, s->m.block, false);
	AWAIT(s, fs_bget_poll(&s->g, cx));
	if ((s->result = s->g.result))
		ASYNC_RETURN(s);
	{
		struct fs_dirent *e = (struct fs_dirent *)s->g.b->data + s->slot % FS_DIRENTS_PER_BLOCK;
		fs_names_forget(fs);
		memset(e, 0, sizeof(*e));
		if (name) {
			e->inum = inum;
			e->type = type;
			e->name_len = (uint8_t)len;
			memcpy(e->name, name, len);
		}
		fs_log_write(&fs->log, s->g.b);
		fs_brelse(&fs->cache, s->g.b);
	}
	s->result = 0;
	ASYNC_END(s);
}

/* ---- walking a path ------------------------------------------------------------------*/

void fs_walk_init(struct fs_walk *w, struct fs *fs, struct fs_inode *cwd, const char *path,
		  bool parent)
{
	w->fs = fs;
	w->path = path;
	w->parent = parent;
	w->state = ASYNC_INIT;
	w->live = 0;
	w->pos = 0;
	w->name = NULL;
	w->len = 0;
	w->trailing_slash = false;
	w->next = NULL;
	w->result = 0;
	w->ip = fs_idup(fs, path[0] == '/' || !cwd ? fs->root : cwd);
}

enum poll fs_walk_poll(struct fs_walk *w, struct context *cx)
{
	struct fs *fs = w->fs;
	const char *p = w->path;
	ASYNC_BEGIN(w);
	if (!p[0]) {
		w->result = -PX_ENOENT;
		goto fail;
	}
	for (;;) {
		{
			uint32_t s = w->pos, e, after;
			while (p[s] == '/')
				s++;
			if (!p[s]) {
				/* the path ended: with nothing after the root (or cwd) */
				if (w->parent) {
					w->name = ".";
					w->len = 1;
				}
				w->result = 0;
				ASYNC_RETURN(w);
			}
			e = s;
			while (p[e] && p[e] != '/')
				e++;
			if (e - s > FS_NAME_MAX) {
				w->result = -PX_ENAMETOOLONG;
				goto fail;
			}
			after = e;
			while (p[after] == '/')
				after++;
			w->name = p + s;
			w->len = e - s;
			w->pos = e;
			w->trailing_slash = after > e;
			if (w->parent && !p[after]) {
				w->result = 0;
				ASYNC_RETURN(w);
			}
		}
		fs_ilock_init(&w->l, fs, w->ip);
		w->live = 1;
		AWAIT(w, fs_ilock_poll(&w->l, cx));
		w->live = 0;
		if ((w->result = w->l.result))
			goto fail;
		if (w->ip->d.type != FS_T_DIR) {
			fs_iunlock(w->ip);
			w->result = -PX_ENOTDIR;
			goto fail;
		}
		fs_dirlookup_init(&w->d, fs, w->ip, w->name, w->len);
		w->live = 2;
		AWAIT(w, fs_dirlookup_poll(&w->d, cx));
		w->live = 0;
		w->result = w->d.result;
		if (!w->result) {
			w->next = fs_iget(fs, w->d.inum);
			if (!w->next)
				w->result = -PX_ENFILE;
		}
		fs_iunlock(w->ip);
		if (w->result)
			goto fail;
		fs_iput(fs, w->ip);
		w->ip = w->next;
		w->next = NULL;
	}
fail:
	fs_iput(fs, w->ip);
	w->ip = NULL;
	ASYNC_END(w);
}

/* Before Ready: let go of everything.  After Ready, ip is the caller's. */
void fs_walk_drop(struct fs_walk *w)
{
	if (w->state == ASYNC_DONE)
		return;
	if (w->live == 1)
		fs_ilock_drop(&w->l);
	if (w->live == 2) {
		fs_dirlookup_drop(&w->d);
		fs_iunlock(w->ip);
	}
	w->live = 0;
	if (w->ip)
		fs_iput(w->fs, w->ip);
	w->ip = NULL;
	w->state = ASYNC_DONE;
}
