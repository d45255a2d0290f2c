/* The operations: open, read, write, truncate, mkdir, rmdir, unlink, rename, link, getdents, stat, fsync. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_impl.h"
#include "kernel/fs/fs_ops.h"

/*
 * Each operation is one state machine over a struct fs_call (fs_ops.h),
 * written with the executor's ASYNC macros.  Its steps are the async
 * helpers of fs_inode.c and fs_dir.c, one at a time, in the union `u`;
 * `live` says which is in progress, for a drop.
 *
 * A changing operation: reserve room in the log (busy from then on),
 * take fs->ns if it changes names, find, check (every error that needs
 * no undoing is found here), then change (`dirtied`), release, end the
 * transaction and wait until it is durable.  An I/O error or damage met
 * after the first change abandons the transaction (fs_log_abort): the
 * disk keeps its last commit.  ENOSPC can only come at points where
 * nothing half-done is left: a directory slot is made (an empty block
 * appended, which is consistent on its own) before the inode or block
 * that will fill it is allocated.
 *
 * With fs->ns held, names cannot change, so a namespace operation locks
 * one inode at a time; without it (read, write, truncate, getdents,
 * stat, a walk) an operation holds at most one inode lock as well.
 */

static const uint8_t zeros[FS_BLOCK_SIZE];

_Static_assert(sizeof(struct fs_call) <= 2048, "fs_env_alloc gives at most 2048 bytes");

/* Release everything the call holds that needs no waiting. */
static void let_go(struct fs_call *c)
{
	struct fs *fs = c->fs;
	if (c->locked) {
		fs_iunlock(c->locked);
		c->locked = NULL;
	}
	if (c->ns_held) {
		mutex_unlock(&fs->ns);
		c->ns_held = false;
	}
	struct fs_inode **refs[] = { &c->dp, &c->dp2, &c->victim, &c->cur };
	for (unsigned i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		if (*refs[i]) {
			fs_iput(fs, *refs[i]);
			*refs[i] = NULL;
		}
	if (c->ip_owned && c->ip) {
		fs_iput(fs, c->ip);
		c->ip = NULL;
	}
	c->ip_owned = false;
	if (c->begun && c->dirtied && c->result == -PX_EIO)
		fs_log_abort(&fs->log);
}

/* The steps every operation shares, as macros over `c` and `fs`. */
#define FAIL(err)                                   \
	do {                                        \
		c->result = (err);                  \
		goto out;                           \
	} while (0)

#define STEP(kind, pollexpr)                        \
	do {                                        \
		c->live = (kind);                   \
		AWAIT(c, (pollexpr));               \
		c->live = L_NONE;                   \
	} while (0)

#define BEGIN(wantx)                                                       \
	do {                                                               \
		c->want = (wantx);                                         \
		fs_begin_init(&c->u.begin, &fs->log, c->want);             \
		STEP(L_BEGIN, fs_begin_poll(&c->u.begin, cx));             \
		if (c->u.begin.result)                                     \
			FAIL(c->u.begin.result);                           \
		c->begun = true;                                           \
		c->io->busy = true;                                        \
	} while (0)

#define LOCK_NS()                                                          \
	do {                                                               \
		mutex_lock_init(&c->u.ml, &fs->ns);                        \
		STEP(L_NS, mutex_lock_poll(&c->u.ml, cx));                 \
		c->ns_held = true;                                         \
	} while (0)

#define ILOCK(ipx)                                                         \
	do {                                                               \
		fs_ilock_init(&c->u.il, fs, (ipx));                        \
		STEP(L_ILOCK, fs_ilock_poll(&c->u.il, cx));                \
		if (c->u.il.result)                                        \
			FAIL(c->u.il.result);                              \
		c->locked = (ipx);                                         \
	} while (0)

#define IUNLOCK()                                                          \
	do {                                                               \
		fs_iunlock(c->locked);                                     \
		c->locked = NULL;                                          \
	} while (0)

#define WALK(pathx, parent)                                                \
	do {                                                               \
		fs_walk_init(&c->u.walk, fs, c->cwd, (pathx), (parent));   \
		STEP(L_WALK, fs_walk_poll(&c->u.walk, cx));                \
		if (c->u.walk.result)                                      \
			FAIL(c->u.walk.result);                            \
	} while (0)

#define LOOKUP(dpx, namex, lenx)                                           \
	do {                                                               \
		fs_dirlookup_init(&c->u.dl, fs, (dpx), (namex), (lenx));   \
		STEP(L_LOOKUP, fs_dirlookup_poll(&c->u.dl, cx));           \
	} while (0)

#define IUPDATE(ipx)                                                       \
	do {                                                               \
		fs_iupdate_init(&c->u.iu, fs, (ipx));                      \
		AWAIT(c, fs_iupdate_poll(&c->u.iu, cx));                   \
		if (c->u.iu.result)                                        \
			FAIL(c->u.iu.result);                              \
	} while (0)

#define DIRSET(dpx, slotx, namex, lenx, inumx, typex)                             \
	do {                                                                      \
		fs_dirset_init(&c->u.ds, fs, (dpx), (slotx));                     \
		AWAIT(c, fs_dirset_poll(&c->u.ds, cx, (namex), (lenx), (inumx), (typex))); \
		if (c->u.ds.result)                                               \
			FAIL(c->u.ds.result);                                     \
	} while (0)

#define BGET(blockx, zerox)                                                \
	do {                                                               \
		fs_bget_init(&c->u.g, &fs->cache, (blockx), (zerox));      \
		STEP(L_BGET, fs_bget_poll(&c->u.g, cx));                   \
		if (c->u.g.result)                                         \
			FAIL(c->u.g.result);                               \
	} while (0)

#define FREEBIT(inodex, nx)                                                \
	do {                                                               \
		fs_free_init(&c->u.fr, fs);                                \
		AWAIT(c, fs_free_poll(&c->u.fr, cx, (inodex), (nx)));      \
		if (c->u.fr.result)                                        \
			FAIL(c->u.fr.result);                              \
	} while (0)

#define END_AND_WAIT()                                                     \
	do {                                                               \
		if (c->begun) {                                            \
			c->seq = fs_end(&fs->log, c->want);                \
			c->begun = false;                                  \
			c->io->busy = false;                               \
			fs_durable_init(&c->u.dur, &fs->log, c->seq);      \
			STEP(L_DUR, fs_durable_poll(&c->u.dur, cx));       \
			if (c->result >= 0 && c->u.dur.result)             \
				c->result = c->u.dur.result;               \
		}                                                          \
	} while (0)

static bool only_ref(struct fs *fs, struct fs_inode *ip)
{
	unsigned long f = spin_lock(&fs->itab_lock);
	bool one = ip->refs == 1;
	spin_unlock(&fs->itab_lock, f);
	return one;
}

static uint32_t iblock_of(const struct fs *fs, uint32_t inum)
{
	return fs->sb.inode_start + inum / FS_INODES_PER_BLOCK;
}

static struct fs_dinode *dinode_in(struct fs_buf *b, uint32_t inum)
{
	return (struct fs_dinode *)b->data + inum % FS_INODES_PER_BLOCK;
}

/* ---- the final free of an unlinked inode (locked, c->victim) ---------------------------
 * Shared by unlink, rmdir, rename (its target), reclaim and the mount's
 * orphan pass, through op_release (state kept in c->rel_state). */
static enum poll release_inode(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	struct fs_inode *ip = c->victim;
	switch (c->rel_state) {
	case 0:
		fs_itrunc_init(&c->u.tr, fs, ip, 0);
		c->rel_state = 1;
		/* fall through */
	case 1:
		if (fs_itrunc_poll(&c->u.tr, cx) == POLL_PENDING)
			return POLL_PENDING;
		if ((c->rel_result = c->u.tr.result))
			return POLL_READY;
		ip->d.type = FS_T_FREE;
		ip->d.size = 0;
		ip->d.nlink = 0;
		fs_iupdate_init(&c->u.iu, fs, ip);
		c->rel_state = 2;
		/* fall through */
	case 2:
		if (fs_iupdate_poll(&c->u.iu, cx) == POLL_PENDING)
			return POLL_PENDING;
		if ((c->rel_result = c->u.iu.result))
			return POLL_READY;
		fs_free_init(&c->u.fr, fs);
		c->rel_state = 3;
		/* fall through */
	case 3:
		if (fs_free_poll(&c->u.fr, cx, true, ip->inum) == POLL_PENDING)
			return POLL_PENDING;
		c->rel_result = c->u.fr.result;
		{
			unsigned long f = spin_lock(&fs->itab_lock);
			ip->valid = false;
			ip->orphaned = false;
			spin_unlock(&fs->itab_lock, f);
		}
		return POLL_READY;
	}
	return POLL_READY;
}

#define RELEASE_INODE()                                                    \
	do {                                                               \
		c->rel_state = 0;                                          \
		AWAIT(c, release_inode(c, cx));                            \
		if (c->rel_result)                                         \
			FAIL(c->rel_result);                               \
	} while (0)

/* c->victim (locked) lost its last link: free it now if nobody else
 * holds it, else put it at the head of the orphan list (fs_reclaim frees
 * it when the last reference goes).  Uses c->sub_state. */
static enum poll unlinked_inode(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	struct fs_inode *ip = c->victim;
	switch (c->sub_state) {
	case 0:
		if (only_ref(fs, ip)) {
			c->rel_state = 0;
			c->sub_state = 1;
		} else {
			fs_bget_init(&c->u.g, &fs->cache, iblock_of(fs, ip->inum), false);
			c->sub_state = 2;
			goto orphan;
		}
		/* fall through */
	case 1:
		return release_inode(c, cx);
	case 2:
	orphan:
		if (fs_bget_poll(&c->u.g, cx) == POLL_PENDING)
			return POLL_PENDING;
		if ((c->rel_result = c->u.g.result))
			return POLL_READY;
		{
			unsigned long f = spin_lock(&fs->dinode_lock);
			dinode_in(c->u.g.b, ip->inum)->next_orphan = fs->sb.orphan_head;
			spin_unlock(&fs->dinode_lock, f);
		}
		fs_log_write(&fs->log, c->u.g.b);
		fs_brelse(&fs->cache, c->u.g.b);
		fs_bget_init(&c->u.g, &fs->cache, 0, false);
		c->sub_state = 3;
		/* fall through */
	case 3:
		if (fs_bget_poll(&c->u.g, cx) == POLL_PENDING)
			return POLL_PENDING;
		if ((c->rel_result = c->u.g.result))
			return POLL_READY;
		{
			struct fs_super *s = c->u.g.b->data;
			s->orphan_head = ip->inum;
			s->crc = fs_super_crc(s);
			fs->sb.orphan_head = ip->inum;
			fs_log_write(&fs->log, c->u.g.b);
			fs_brelse(&fs->cache, c->u.g.b);
		}
		{
			unsigned long f = spin_lock(&fs->itab_lock);
			ip->orphaned = true;
			spin_unlock(&fs->itab_lock, f);
		}
		fs_iupdate_init(&c->u.iu, fs, ip);
		c->sub_state = 4;
		/* fall through */
	case 4:
		if (fs_iupdate_poll(&c->u.iu, cx) == POLL_PENDING)
			return POLL_PENDING;
		c->rel_result = c->u.iu.result;
		return POLL_READY;
	}
	return POLL_READY;
}

#define UNLINKED_INODE()                                                   \
	do {                                                               \
		c->sub_state = 0;                                          \
		c->rel_result = 0;                                         \
		AWAIT(c, unlinked_inode(c, cx));                           \
		if (c->rel_result)                                         \
			FAIL(c->rel_result);                               \
	} while (0)

/* A just-allocated inode's in-memory entry (referenced once by us) must
 * be unused and is locked now.  If it is not — the inode bitmap said
 * "free" of an inode in use — that is damage: false. */
static bool claim_new(struct fs *fs, struct fs_inode *ip)
{
	unsigned long f = spin_lock(&fs->itab_lock);
	bool fresh = ip->refs == 1 && (!ip->valid || ip->d.type == FS_T_FREE);
	spin_unlock(&fs->itab_lock, f);
	if (!fresh || !mutex_try_lock(&ip->lock)) {
		fs_damaged(fs, "the inode bitmap marks an inode in use as free: inode", ip->inum);
		return false;
	}
	return true;
}

/* ---- open -----------------------------------------------------------------------------*/

static bool is_dot(const char *n, uint32_t len)
{
	return (len == 1 && n[0] == '.') || (len == 2 && n[0] == '.' && n[1] == '.');
}

static enum poll op_open(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	bool writing = (c->flags & PX_O_ACCMODE) != PX_O_RDONLY;
	ASYNC_BEGIN(c);
	if ((c->flags & PX_O_ACCMODE) == PX_O_ACCMODE)
		FAIL(-PX_EINVAL);
	if ((c->flags & PX_O_CREAT) || ((c->flags & PX_O_TRUNC) && writing))
		BEGIN(fs->res_free);
	if (c->flags & PX_O_CREAT) {
		LOCK_NS();
		WALK(c->path, true);
		c->dp = c->u.walk.ip;
		c->name = c->u.walk.name;
		c->len = c->u.walk.len;
		c->trailing = c->u.walk.trailing_slash;
		ILOCK(c->dp);
		if (c->dp->d.type != FS_T_DIR)
			FAIL(-PX_ENOTDIR);
		if (c->dp->d.nlink == 0)
			FAIL(-PX_ENOENT);
		LOOKUP(c->dp, c->name, c->len);
		if (c->u.dl.result && c->u.dl.result != -PX_ENOENT)
			FAIL(c->u.dl.result);
		if (!c->u.dl.result) {
			if (c->flags & PX_O_EXCL)
				FAIL(-PX_EEXIST);
			c->ip = fs_iget(fs, c->u.dl.inum);
			if (!c->ip)
				FAIL(-PX_ENFILE);
			c->ip_owned = true;
			IUNLOCK();
		} else {
			if (c->trailing)
				FAIL(-PX_EISDIR);
			c->slot = c->u.dl.free_slot;
			/* Make room for the entry first (consistent if we stop here). */
			c->dirtied = true;
			if (c->slot == UINT32_MAX) {
				DIRSET(c->dp, UINT32_MAX, NULL, 0, 0, 0);
				c->slot = c->u.ds.slot;
			}
			fs_alloc_init(&c->u.al, fs, true);
			AWAIT(c, fs_alloc_poll(&c->u.al, cx));
			if (c->u.al.result)
				FAIL(c->u.al.result);
			c->inum = c->u.al.got;
			c->ip = fs_iget(fs, c->inum);
			if (!c->ip) {
				FREEBIT(true, c->inum);
				FAIL(-PX_ENFILE);
			}
			c->ip_owned = true;
			if (!claim_new(fs, c->ip))
				FAIL(-PX_EIO);
			memset(&c->ip->d, 0, sizeof(c->ip->d));
			c->ip->d.type = FS_T_FILE;
			c->ip->d.nlink = 1;
			c->ip->valid = true;
			c->locked2 = c->ip;
			fs_iupdate_init(&c->u.iu, fs, c->ip);
			AWAIT(c, fs_iupdate_poll(&c->u.iu, cx));
			fs_iunlock(c->ip);
			c->locked2 = NULL;
			if (c->u.iu.result)
				FAIL(c->u.iu.result);
			DIRSET(c->dp, c->slot, c->name, c->len, c->inum, FS_T_FILE);
			IUNLOCK();
			c->created = true;
		}
		mutex_unlock(&fs->ns);
		c->ns_held = false;
	} else {
		WALK(c->path, false);
		c->ip = c->u.walk.ip;
		c->ip_owned = true;
		c->trailing = c->u.walk.trailing_slash;
	}
	if (!c->created) {
		ILOCK(c->ip);
		if (c->ip->d.type == FS_T_DIR) {
			if (writing || (c->flags & (PX_O_CREAT | PX_O_TRUNC)))
				FAIL(-PX_EISDIR);
		} else {
			if ((c->flags & PX_O_DIRECTORY) || c->trailing)
				FAIL(-PX_ENOTDIR);
			if ((c->flags & PX_O_TRUNC) && writing && c->ip->d.size > 0) {
				c->dirtied = true;
				fs_itrunc_init(&c->u.tr, fs, c->ip, 0);
				AWAIT(c, fs_itrunc_poll(&c->u.tr, cx));
				if (c->u.tr.result)
					FAIL(c->u.tr.result);
				c->ip->d.size = 0;
				IUPDATE(c->ip);
			}
		}
		IUNLOCK();
	}
	c->result = 0;
	c->ip_owned = false; /* the caller's now */
out:
	if (c->locked2) {
		fs_iunlock(c->locked2);
		c->locked2 = NULL;
	}
	if (c->result < 0 && c->ip && !c->ip_owned)
		c->ip_owned = true;
	let_go(c);
	END_AND_WAIT();
	if (c->result < 0 && c->ip) {
		fs_iput(fs, c->ip);
		c->ip = NULL;
	}
	ASYNC_END(c);
}

/* ---- mkdir ----------------------------------------------------------------------------*/

static enum poll op_mkdir(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	BEGIN(fs->res_small);
	LOCK_NS();
	WALK(c->path, true);
	c->dp = c->u.walk.ip;
	c->name = c->u.walk.name;
	c->len = c->u.walk.len;
	if (is_dot(c->name, c->len))
		FAIL(-PX_EEXIST);
	ILOCK(c->dp);
	if (c->dp->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	if (c->dp->d.nlink == 0)
		FAIL(-PX_ENOENT);
	if (c->dp->d.nlink >= 0xffff)
		FAIL(-PX_EMLINK);
	LOOKUP(c->dp, c->name, c->len);
	if (!c->u.dl.result)
		FAIL(-PX_EEXIST);
	if (c->u.dl.result != -PX_ENOENT)
		FAIL(c->u.dl.result);
	c->slot = c->u.dl.free_slot;
	c->dirtied = true;
	if (c->slot == UINT32_MAX) {
		DIRSET(c->dp, UINT32_MAX, NULL, 0, 0, 0);
		c->slot = c->u.ds.slot;
	}
	/* the new directory's block, then its inode */
	fs_alloc_init(&c->u.al, fs, false);
	AWAIT(c, fs_alloc_poll(&c->u.al, cx));
	if (c->u.al.result)
		FAIL(c->u.al.result);
	c->block = c->u.al.got;
	fs_alloc_init(&c->u.al, fs, true);
	AWAIT(c, fs_alloc_poll(&c->u.al, cx));
	if (c->u.al.result) {
		c->err = c->u.al.result;
		FREEBIT(false, c->block);
		FAIL(c->err);
	}
	c->inum = c->u.al.got;
	c->victim = fs_iget(fs, c->inum);
	if (!c->victim) {
		FREEBIT(false, c->block);
		FREEBIT(true, c->inum);
		FAIL(-PX_ENFILE);
	}
	BGET(c->block, false);
	{
		struct fs_dirent *e = c->u.g.b->data;
		e[0].inum = c->inum;
		e[0].type = FS_T_DIR;
		e[0].name_len = 1;
		e[0].name[0] = '.';
		e[1].inum = c->dp->inum;
		e[1].type = FS_T_DIR;
		e[1].name_len = 2;
		e[1].name[0] = e[1].name[1] = '.';
		fs_log_write(&fs->log, c->u.g.b);
		fs_brelse(&fs->cache, c->u.g.b);
	}
	if (!claim_new(fs, c->victim))
		FAIL(-PX_EIO);
	memset(&c->victim->d, 0, sizeof(c->victim->d));
	c->victim->d.type = FS_T_DIR;
	c->victim->d.nlink = 2;
	c->victim->d.size = FS_BLOCK_SIZE;
	c->victim->d.blocks = 1;
	c->victim->d.direct[0] = c->block;
	c->victim->valid = true;
	c->locked2 = c->victim;
	IUPDATE(c->victim);
	fs_iunlock(c->victim);
	c->locked2 = NULL;
	DIRSET(c->dp, c->slot, c->name, c->len, c->inum, FS_T_DIR);
	c->dp->d.nlink++;
	IUPDATE(c->dp);
	c->result = 0;
out:
	if (c->locked2) {
		fs_iunlock(c->locked2);
		c->locked2 = NULL;
	}
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- unlink and rmdir ---------------------------------------------------------------------*/

static enum poll op_remove(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	bool dir = c->kind == FS_K_RMDIR;
	ASYNC_BEGIN(c);
	BEGIN(fs->res_free);
	LOCK_NS();
	WALK(c->path, true);
	c->dp = c->u.walk.ip;
	c->name = c->u.walk.name;
	c->len = c->u.walk.len;
	c->trailing = c->u.walk.trailing_slash;
	if (is_dot(c->name, c->len))
		FAIL(!dir ? -PX_EISDIR : c->len == 1 ? -PX_EINVAL : -PX_ENOTEMPTY);
	ILOCK(c->dp);
	if (c->dp->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	LOOKUP(c->dp, c->name, c->len);
	if (c->u.dl.result)
		FAIL(c->u.dl.result);
	c->slot = c->u.dl.slot;
	c->victim = fs_iget(fs, c->u.dl.inum);
	if (!c->victim)
		FAIL(-PX_ENFILE);
	IUNLOCK();
	if (c->victim == fs->root)
		FAIL(-PX_EBUSY);
	ILOCK(c->victim);
	if (!dir && c->victim->d.type == FS_T_DIR)
		FAIL(-PX_EISDIR);
	if (dir && c->victim->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	if (!dir && c->trailing)
		FAIL(-PX_ENOTDIR);
	if (dir) {
		LOOKUP(c->victim, NULL, 0); /* any entry but . and .. */
		if (!c->u.dl.result)
			FAIL(-PX_ENOTEMPTY);
		if (c->u.dl.result != -PX_ENOENT)
			FAIL(c->u.dl.result);
	}
	IUNLOCK();
	/* the change */
	c->dirtied = true;
	ILOCK(c->dp);
	DIRSET(c->dp, c->slot, NULL, 0, 0, 0);
	if (dir) {
		c->dp->d.nlink--;
		IUPDATE(c->dp);
	}
	IUNLOCK();
	ILOCK(c->victim);
	if (dir)
		c->victim->d.nlink = 0;
	else
		c->victim->d.nlink--;
	if (c->victim->d.nlink == 0)
		UNLINKED_INODE();
	else
		IUPDATE(c->victim);
	c->result = 0;
out:
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- rename and link ----------------------------------------------------------------------*/

static enum poll op_rename(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	BEGIN(fs->res_free);
	LOCK_NS();
	/* source: its parent and entry */
	WALK(c->path, true);
	c->dp = c->u.walk.ip;
	c->name = c->u.walk.name;
	c->len = c->u.walk.len;
	c->trailing = c->u.walk.trailing_slash;
	if (is_dot(c->name, c->len))
		FAIL(-PX_EINVAL);
	ILOCK(c->dp);
	if (c->dp->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	LOOKUP(c->dp, c->name, c->len);
	if (c->u.dl.result)
		FAIL(c->u.dl.result);
	c->inum = c->u.dl.inum;
	c->type = c->u.dl.type;
	c->slot = c->u.dl.slot;
	IUNLOCK();
	c->ip = fs_iget(fs, c->inum);
	if (!c->ip)
		FAIL(-PX_ENFILE);
	c->ip_owned = true;
	ILOCK(c->ip); /* the entry's type may lie: the inode says */
	c->type = (uint8_t)c->ip->d.type;
	IUNLOCK();
	if (c->trailing && c->type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	/* destination */
	WALK(c->path2, true);
	c->dp2 = c->u.walk.ip;
	c->name2 = c->u.walk.name;
	c->len2 = c->u.walk.len;
	if (is_dot(c->name2, c->len2))
		FAIL(-PX_EINVAL);
	if (c->u.walk.trailing_slash && c->type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	ILOCK(c->dp2);
	if (c->dp2->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	if (c->dp2->d.nlink == 0)
		FAIL(-PX_ENOENT);
	LOOKUP(c->dp2, c->name2, c->len2);
	if (c->u.dl.result && c->u.dl.result != -PX_ENOENT)
		FAIL(c->u.dl.result);
	c->slot2 = c->u.dl.result ? c->u.dl.free_slot : c->u.dl.slot;
	c->inum2 = c->u.dl.result ? 0 : c->u.dl.inum;
	IUNLOCK();
	if (c->inum2 == c->inum)
		FAIL(0); /* the same file: nothing to do */
	if (c->type == FS_T_DIR && c->dp2 != c->dp) {
		/* The destination's parent must not be the source or below it:
		 * climb from it to the root. */
		c->cur = fs_idup(fs, c->dp2);
		for (;;) {
			if (c->cur->inum == c->inum)
				FAIL(-PX_EINVAL);
			if (c->cur == fs->root)
				break;
			ILOCK(c->cur);
			LOOKUP(c->cur, "..", 2);
			if (c->u.dl.result)
				FAIL(c->u.dl.result);
			IUNLOCK();
			{
				struct fs_inode *up = fs_iget(fs, c->u.dl.inum);
				if (!up)
					FAIL(-PX_ENFILE);
				fs_iput(fs, c->cur);
				c->cur = up;
				if (++c->climb > fs->sb.ninodes) {
					fs_damaged(fs, "directory tree loops above inode", c->dp2->inum);
					FAIL(-PX_EIO);
				}
			}
		}
		fs_iput(fs, c->cur);
		c->cur = NULL;
	}
	if (c->inum2) {
		c->victim = fs_iget(fs, c->inum2);
		if (!c->victim)
			FAIL(-PX_ENFILE);
		ILOCK(c->victim);
		if (c->type == FS_T_DIR && c->victim->d.type != FS_T_DIR)
			FAIL(-PX_ENOTDIR);
		if (c->type != FS_T_DIR && c->victim->d.type == FS_T_DIR)
			FAIL(-PX_EISDIR);
		if (c->victim->d.type == FS_T_DIR) {
			LOOKUP(c->victim, NULL, 0);
			if (!c->u.dl.result)
				FAIL(-PX_ENOTEMPTY);
			if (c->u.dl.result != -PX_ENOENT)
				FAIL(c->u.dl.result);
		}
		IUNLOCK();
	}
	/* the change: all in this one transaction */
	c->dirtied = true;
	ILOCK(c->dp2);
	if (c->slot2 == UINT32_MAX)
		c->dirtied = true;
	if (!c->inum2 && c->slot2 == UINT32_MAX) {
		DIRSET(c->dp2, UINT32_MAX, NULL, 0, 0, 0);
		c->slot2 = c->u.ds.slot;
	}
	DIRSET(c->dp2, c->slot2, c->name2, c->len2, c->inum, c->type);
	if (c->type == FS_T_DIR && c->dp2 != c->dp) {
		if (!c->inum2)
			c->dp2->d.nlink++; /* the moved directory's ".." */
		IUPDATE(c->dp2);
	}
	IUNLOCK();
	ILOCK(c->dp);
	DIRSET(c->dp, c->slot, NULL, 0, 0, 0);
	if (c->type == FS_T_DIR && c->dp2 != c->dp) {
		c->dp->d.nlink--;
		IUPDATE(c->dp);
	} else if (c->type == FS_T_DIR && c->inum2) {
		c->dp->d.nlink--; /* same parent: the replaced directory's ".." went */
		IUPDATE(c->dp);
	}
	IUNLOCK();
	if (c->type == FS_T_DIR && c->dp2 != c->dp) {
		ILOCK(c->ip);
		DIRSET(c->ip, 1, "..", 2, c->dp2->inum, FS_T_DIR);
		IUNLOCK();
	}
	if (c->victim) {
		ILOCK(c->victim);
		if (c->victim->d.type == FS_T_DIR)
			c->victim->d.nlink = 0;
		else
			c->victim->d.nlink--;
		if (c->victim->d.nlink == 0)
			UNLINKED_INODE();
		else
			IUPDATE(c->victim);
		IUNLOCK();
	}
	c->result = 0;
out:
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

static enum poll op_link(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	BEGIN(fs->res_small);
	LOCK_NS();
	WALK(c->path, false);
	c->ip = c->u.walk.ip;
	c->ip_owned = true;
	ILOCK(c->ip);
	if (c->ip->d.type == FS_T_DIR)
		FAIL(-PX_EPERM);
	if (c->ip->d.nlink >= 0xffff)
		FAIL(-PX_EMLINK);
	IUNLOCK();
	WALK(c->path2, true);
	c->dp = c->u.walk.ip;
	c->name = c->u.walk.name;
	c->len = c->u.walk.len;
	if (is_dot(c->name, c->len))
		FAIL(-PX_EEXIST);
	if (c->u.walk.trailing_slash)
		FAIL(-PX_ENOTDIR);
	ILOCK(c->dp);
	if (c->dp->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	if (c->dp->d.nlink == 0)
		FAIL(-PX_ENOENT);
	LOOKUP(c->dp, c->name, c->len);
	if (!c->u.dl.result)
		FAIL(-PX_EEXIST);
	if (c->u.dl.result != -PX_ENOENT)
		FAIL(c->u.dl.result);
	c->slot = c->u.dl.free_slot;
	c->dirtied = true;
	if (c->slot == UINT32_MAX) {
		DIRSET(c->dp, UINT32_MAX, NULL, 0, 0, 0);
		c->slot = c->u.ds.slot;
	}
	DIRSET(c->dp, c->slot, c->name, c->len, c->ip->inum, FS_T_FILE);
	IUNLOCK();
	ILOCK(c->ip);
	c->ip->d.nlink++;
	IUPDATE(c->ip);
	c->result = 0;
out:
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- read, write, truncate --------------------------------------------------------------*/

/*
 * A read holds the inode lock only to map one block (the pointers must
 * not change under it), never while the block loads, so reads of one
 * file overlap: 32 of them in flight are 32 device requests, and readers
 * of the same block share one.  A truncation between the map and the copy
 * could free the block (and someone reuse it): truncations count in
 * ip->tgen, and a block whose count moved meanwhile is read again.
 */
static enum poll op_read(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	c->done = 0;
	for (;;) {
		ILOCK(c->ip);
		if (c->ip->d.type == FS_T_DIR)
			FAIL(-PX_EISDIR);
		if (c->done >= c->len || c->off + c->done >= c->ip->d.size) {
			IUNLOCK();
			break;
		}
		{
			uint64_t at = c->off + c->done, n = FS_BLOCK_SIZE - at % FS_BLOCK_SIZE;
			if (n > c->len - c->done)
				n = c->len - c->done;
			if (n > c->ip->d.size - at)
				n = c->ip->d.size - at;
			c->chunk_end = n;
		}
		c->gen = atomic_load(&c->ip->tgen);
		fs_bmap_init(&c->u.bm, fs, c->ip, (c->off + c->done) / FS_BLOCK_SIZE, false);
		STEP(L_BMAP, fs_bmap_poll(&c->u.bm, cx));
		if (c->u.bm.result)
			FAIL(c->done ? (int64_t)c->done : c->u.bm.result);
		c->block = c->u.bm.block;
		{
			/* A sequential reader gets the next blocks started now. */
			uint64_t fbn = (c->off + c->done) / FS_BLOCK_SIZE;
			if (fbn == c->ip->ra_next && c->block) {
				uint64_t last = (c->ip->d.size - 1) / FS_BLOCK_SIZE;
				for (uint64_t k = 1; k <= FS_READAHEAD && fbn + k <= last; k++) {
					uint32_t bn = fs_bmap_peek(fs, c->ip, fbn + k);
					if (bn)
						fs_prefetch(&fs->cache, bn);
				}
			}
			c->ip->ra_next = fbn + 1;
		}
		IUNLOCK();
		if (c->block)
			BGET(c->block, false);
		{
			uint64_t boff = (c->off + c->done) % FS_BLOCK_SIZE;
			const uint8_t *src = c->block ? (const uint8_t *)c->u.g.b->data + boff : zeros;
			int r = fs_env_copyout(c->vm, c->va + c->done, src, c->chunk_end);
			if (c->block)
				fs_brelse(&fs->cache, c->u.g.b);
			if (r)
				FAIL(c->done ? (int64_t)c->done : r);
			if (atomic_load(&c->ip->tgen) == c->gen)
				c->done += c->chunk_end;
		}
	}
	c->result = (int64_t)c->done;
out:
	c->pos = c->off + (c->result > 0 ? (uint64_t)c->result : 0);
	let_go(c);
	ASYNC_END(c);
}

static enum poll op_write(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	c->done = 0;
	while (c->done < c->len) {
		if (c->io->cancelled)
			break;
		BEGIN(fs->res_write);
		ILOCK(c->ip);
		if (c->ip->d.type == FS_T_DIR)
			FAIL(-PX_EISDIR);
		if (c->append)
			c->off = c->ip->d.size - c->done;
		if (c->off + c->done >= FS_MAX_FILE_SIZE)
			FAIL(c->done ? (int64_t)c->done : -PX_EFBIG);
		/* this chunk: up to FS_WRITE_CHUNK blocks */
		c->chunk_end = ((c->off + c->done) / FS_BLOCK_SIZE + FS_WRITE_CHUNK) * FS_BLOCK_SIZE;
		if (c->chunk_end > c->off + c->len)
			c->chunk_end = c->off + c->len;
		if (c->chunk_end > FS_MAX_FILE_SIZE)
			c->chunk_end = FS_MAX_FILE_SIZE;
		c->dirtied = true;
		while (c->off + c->done < c->chunk_end) {
			fs_bmap_init(&c->u.bm, fs, c->ip, (c->off + c->done) / FS_BLOCK_SIZE, true);
			AWAIT(c, fs_bmap_poll(&c->u.bm, cx));
			if (c->u.bm.result) {
				c->err = c->u.bm.result;
				break;
			}
			c->block = c->u.bm.block;
			fs_bget_init(&c->u.g, &fs->cache, c->block, false);
			AWAIT(c, fs_bget_poll(&c->u.g, cx));
			if (c->u.g.result) {
				c->err = c->u.g.result;
				break;
			}
			{
				uint64_t at = c->off + c->done, boff = at % FS_BLOCK_SIZE;
				uint64_t n = FS_BLOCK_SIZE - boff;
				if (n > c->chunk_end - at)
					n = c->chunk_end - at;
				int r = fs_env_copyin(c->vm, (uint8_t *)c->u.g.b->data + boff,
						      c->va + c->done, n);
				if (!r)
					fs_log_write(&fs->log, c->u.g.b);
				fs_brelse(&fs->cache, c->u.g.b);
				if (r) {
					c->err = r;
					break;
				}
				c->done += n;
				if (c->off + c->done > c->ip->d.size)
					c->ip->d.size = c->off + c->done;
			}
		}
		if (c->err) {
			if (c->err == -PX_EIO)
				FAIL(-PX_EIO);
			/* Blocks allocated past the end stay out of the file. */
			fs_itrunc_init(&c->u.tr, fs, c->ip,
				       (c->ip->d.size + FS_BLOCK_SIZE - 1) / FS_BLOCK_SIZE);
			AWAIT(c, fs_itrunc_poll(&c->u.tr, cx));
			if (c->u.tr.result)
				FAIL(c->u.tr.result);
		}
		IUPDATE(c->ip);
		IUNLOCK();
		END_AND_WAIT();
		if (c->result < 0)
			break;
		if (c->err)
			break;
	}
	if (c->result >= 0)
		c->result = c->done ? (int64_t)c->done : c->err;
out:
	if (c->result < 0 && c->done && c->result != -PX_EIO)
		c->result = (int64_t)c->done;
	c->pos = c->off + c->done;
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

static enum poll op_truncate(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	if (c->off > FS_MAX_FILE_SIZE)
		FAIL(-PX_EFBIG);
	BEGIN(fs->res_free);
	ILOCK(c->ip);
	if (c->ip->d.type == FS_T_DIR)
		FAIL(-PX_EISDIR);
	c->dirtied = true;
	if (c->off < c->ip->d.size) {
		fs_itrunc_init(&c->u.tr, fs, c->ip, (c->off + FS_BLOCK_SIZE - 1) / FS_BLOCK_SIZE);
		AWAIT(c, fs_itrunc_poll(&c->u.tr, cx));
		if (c->u.tr.result)
			FAIL(c->u.tr.result);
		if (c->off % FS_BLOCK_SIZE) {
			/* the rest of the last block reads as zeros if the file grows */
			fs_bmap_init(&c->u.bm, fs, c->ip, c->off / FS_BLOCK_SIZE, false);
			AWAIT(c, fs_bmap_poll(&c->u.bm, cx));
			if (c->u.bm.result)
				FAIL(c->u.bm.result);
			if (c->u.bm.block) {
				BGET(c->u.bm.block, false);
				memset((uint8_t *)c->u.g.b->data + c->off % FS_BLOCK_SIZE, 0,
				       FS_BLOCK_SIZE - c->off % FS_BLOCK_SIZE);
				fs_log_write(&fs->log, c->u.g.b);
				fs_brelse(&fs->cache, c->u.g.b);
			}
		}
	}
	c->ip->d.size = c->off;
	IUPDATE(c->ip);
	c->result = 0;
out:
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- getdents, stat, fsync -------------------------------------------------------------*/

static enum poll op_getdents(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	if (c->len < sizeof(struct px_dirent))
		FAIL(-PX_EINVAL);
	ILOCK(c->ip);
	if (c->ip->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	c->done = 0;
	c->pos = c->off;
	while (c->pos < c->ip->d.size / sizeof(struct fs_dirent) &&
	       c->len - c->done >= sizeof(struct px_dirent)) {
		fs_bmap_init(&c->u.bm, fs, c->ip, c->pos / FS_DIRENTS_PER_BLOCK, false);
		STEP(L_BMAP, fs_bmap_poll(&c->u.bm, cx));
		if (c->u.bm.result)
			FAIL(c->u.bm.result);
		if (!c->u.bm.block) {
			fs_damaged(fs, "directory has a hole: inode", c->ip->inum);
			FAIL(-PX_EIO);
		}
		BGET(c->u.bm.block, false);
		{
			const struct fs_dirent *e = c->u.g.b->data;
			int r = 0;
			do {
				const struct fs_dirent *x = &e[c->pos % FS_DIRENTS_PER_BLOCK];
				if (x->inum) {
					struct px_dirent pd;
					memset(&pd, 0, sizeof(pd));
					uint32_t n = x->name_len <= FS_NAME_MAX ? x->name_len : FS_NAME_MAX;
					pd.ino = x->inum;
					pd.type = x->type == FS_T_DIR ? PX_S_DIR : PX_S_REG;
					pd.namelen = (unsigned char)n;
					memcpy(pd.name, x->name, n);
					r = fs_env_copyout(c->vm, c->va + c->done, &pd, sizeof(pd));
					if (r)
						break;
					c->done += sizeof(pd);
				}
				c->pos++;
			} while (c->pos % FS_DIRENTS_PER_BLOCK &&
				 c->len - c->done >= sizeof(struct px_dirent));
			fs_brelse(&fs->cache, c->u.g.b);
			if (r)
				FAIL(c->done ? (int64_t)c->done : r);
		}
	}
	c->result = (int64_t)c->done;
out:
	let_go(c);
	ASYNC_END(c);
}

static enum poll op_stat(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	ILOCK(c->ip);
	memset(c->st, 0, sizeof(*c->st));
	c->st->type = fs_inode_type(c->ip);
	c->st->nlink = c->ip->d.nlink;
	c->st->size = c->ip->d.size;
	c->st->ino = c->ip->inum;
	c->st->blocks = c->ip->d.blocks;
	c->result = 0;
out:
	let_go(c);
	(void)fs;
	ASYNC_END(c);
}

static enum poll op_fsync(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	fs_durable_init(&c->u.dur, &fs->log, c->ip->dirty_seq);
	STEP(L_DUR, fs_durable_poll(&c->u.dur, cx));
	c->result = c->u.dur.result;
	ASYNC_END(c);
}

/* ---- reclaim: free unlinked inodes nobody holds -------------------------------------------*/

static struct fs_inode *take_reclaimable(struct fs *fs)
{
	struct fs_inode *ip = NULL;
	unsigned long f = spin_lock(&fs->itab_lock);
	for (uint32_t i = 0; i < fs->ninode && !ip; i++) {
		struct fs_inode *e = fs->itab[i];
		if (e->refs == 0 && e->orphaned) {
			e->refs++;
			ip = e;
		}
	}
	if (ip && fs->reclaim)
		fs->reclaim--;
	spin_unlock(&fs->itab_lock, f);
	return ip;
}

/* Take c->victim (locked, nlink 0) off the orphan list. */
static enum poll orphan_remove(struct fs_call *c, struct context *cx);

enum poll fs_reclaim_poll(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	for (;;) {
		BEGIN(fs->res_free);
		LOCK_NS(); /* the orphan list changes under fs->ns only */
		c->victim = c->kind == FS_K_MOUNT_ORPHANS ? NULL : take_reclaimable(fs);
		if (c->kind == FS_K_MOUNT_ORPHANS && fs->sb.orphan_head) {
			if (++c->climb > fs->sb.ninodes) {
				fs_env_say("fs: the orphan list loops");
				FAIL(-PX_EIO);
			}
			c->victim = fs_iget(fs, fs->sb.orphan_head);
			if (!c->victim)
				FAIL(-PX_ENFILE);
		}
		if (!c->victim) {
			c->result = 0;
			goto out;
		}
		ILOCK(c->victim);
		if (c->victim->d.nlink != 0) {
			fs_damaged(fs, "the orphan list names a linked inode:", c->victim->inum);
			FAIL(-PX_EIO);
		}
		c->dirtied = true;
		c->sub_state = 0;
		AWAIT(c, orphan_remove(c, cx));
		if (c->rel_result)
			FAIL(c->rel_result);
		RELEASE_INODE();
		IUNLOCK();
		fs_iput(fs, c->victim);
		c->victim = NULL;
		mutex_unlock(&fs->ns);
		c->ns_held = false;
		END_AND_WAIT();
		if (c->result < 0)
			break;
		c->dirtied = false;
	}
out:
	let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

static enum poll orphan_remove(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	uint32_t me = c->victim->inum;
	for (;;) {
		switch (c->sub_state) {
		case 0: /* my successor */
			fs_bget_init(&c->u.g, &fs->cache, iblock_of(fs, me), false);
			c->sub_state = 1;
			/* fall through */
		case 1:
			if (fs_bget_poll(&c->u.g, cx) == POLL_PENDING)
				return POLL_PENDING;
			if ((c->rel_result = c->u.g.result))
				return POLL_READY;
			{
				unsigned long f = spin_lock(&fs->dinode_lock);
				c->next = dinode_in(c->u.g.b, me)->next_orphan;
				dinode_in(c->u.g.b, me)->next_orphan = 0;
				spin_unlock(&fs->dinode_lock, f);
			}
			fs_log_write(&fs->log, c->u.g.b);
			fs_brelse(&fs->cache, c->u.g.b);
			if (c->next >= fs->sb.ninodes) {
				fs_damaged(fs, "orphan list link out of range at inode", me);
				c->rel_result = -PX_EIO;
				return POLL_READY;
			}
			c->at = fs->sb.orphan_head;
			c->steps = 0;
			if (c->at == me) {
				fs_bget_init(&c->u.g, &fs->cache, 0, false);
				c->sub_state = 2;
			} else {
				c->sub_state = 3;
				break;
			}
			/* fall through */
		case 2: /* I am the head: the superblock points past me */
			if (fs_bget_poll(&c->u.g, cx) == POLL_PENDING)
				return POLL_PENDING;
			if ((c->rel_result = c->u.g.result))
				return POLL_READY;
			{
				struct fs_super *s = c->u.g.b->data;
				s->orphan_head = c->next;
				s->crc = fs_super_crc(s);
				fs->sb.orphan_head = c->next;
				fs_log_write(&fs->log, c->u.g.b);
				fs_brelse(&fs->cache, c->u.g.b);
			}
			return POLL_READY;
		case 3: /* find my predecessor */
			if (!c->at || c->at >= fs->sb.ninodes || ++c->steps > fs->sb.ninodes) {
				fs_damaged(fs, "inode missing from the orphan list:", me);
				c->rel_result = -PX_EIO;
				return POLL_READY;
			}
			fs_bget_init(&c->u.g, &fs->cache, iblock_of(fs, c->at), false);
			c->sub_state = 4;
			/* fall through */
		case 4:
			if (fs_bget_poll(&c->u.g, cx) == POLL_PENDING)
				return POLL_PENDING;
			if ((c->rel_result = c->u.g.result))
				return POLL_READY;
			{
				struct fs_dinode *d = dinode_in(c->u.g.b, c->at);
				unsigned long f = spin_lock(&fs->dinode_lock);
				uint32_t nx = d->next_orphan;
				if (nx == me)
					d->next_orphan = c->next;
				spin_unlock(&fs->dinode_lock, f);
				if (nx == me)
					fs_log_write(&fs->log, c->u.g.b);
				fs_brelse(&fs->cache, c->u.g.b);
				if (nx == me)
					return POLL_READY;
				c->at = nx;
				c->sub_state = 3;
			}
			break;
		default:
			return POLL_READY;
		}
	}
}

/* ---- the future in the caller's slot --------------------------------------------------------*/

static enum poll call_poll(struct fs_call *c, struct context *cx)
{
	switch (c->kind) {
	case FS_K_OPEN: return op_open(c, cx);
	case FS_K_MKDIR: return op_mkdir(c, cx);
	case FS_K_UNLINK:
	case FS_K_RMDIR: return op_remove(c, cx);
	case FS_K_RENAME: return op_rename(c, cx);
	case FS_K_LINK: return op_link(c, cx);
	case FS_K_READ: return op_read(c, cx);
	case FS_K_WRITE: return op_write(c, cx);
	case FS_K_TRUNC: return op_truncate(c, cx);
	case FS_K_GETDENTS: return op_getdents(c, cx);
	case FS_K_STAT: return op_stat(c, cx);
	case FS_K_FSYNC: return op_fsync(c, cx);
	case FS_K_RECLAIM:
	case FS_K_MOUNT_ORPHANS: return fs_reclaim_poll(c, cx);
	case FS_K_MOUNT: return fs_mount_poll(c, cx);
	case FS_K_UNMOUNT: return fs_unmount_poll(c, cx);
	}
	return POLL_READY;
}

static void call_free(struct fs_call *c)
{
	if (c->path)
		fs_env_free(c->path, c->pathcap);
	if (c->cwd)
		fs_iput(c->fs, c->cwd);
	fs_env_free(c, sizeof(*c));
}

static enum poll op_vpoll(struct future *f, struct context *cx)
{
	struct fs_op *op = (struct fs_op *)f;
	struct fs_call *c = op->c;
	if (call_poll(c, cx) == POLL_PENDING)
		return POLL_PENDING;
	op->io.result = c->result;
	op->ip = c->ip;
	op->pos = c->pos;
	op->fs = NULL;
	if (c->kind == FS_K_MOUNT_ORPHANS) {
		if (c->result < 0) {
			fs_iput(c->fs, c->fs->root);
			fs_teardown(c->fs);
		} else {
			op->fs = c->fs;
		}
	}
	op->c = NULL;
	call_free(c);
	return POLL_READY;
}

/* Before Ready and not busy: whatever the current step holds goes. */
static void op_vdrop(struct future *f)
{
	struct fs_op *op = (struct fs_op *)f;
	struct fs_call *c = op->c;
	if (!c)
		return;
	EXEC_ASSERT(!op->io.busy);
	switch (c->live) {
	case L_BEGIN: fs_begin_drop(&c->u.begin); break;
	case L_NS: mutex_lock_drop(&c->u.ml); break;
	case L_ILOCK: fs_ilock_drop(&c->u.il); break;
	case L_WALK: fs_walk_drop(&c->u.walk); break;
	case L_LOOKUP: fs_dirlookup_drop(&c->u.dl); break;
	case L_BMAP: fs_bmap_drop(&c->u.bm); break;
	case L_BGET: fs_bget_drop(&c->u.g); break;
	case L_DUR: fs_durable_drop(&c->u.dur); break;
	case L_MOUNT: fs_mount_drop(c); break;
	default: break;
	}
	c->live = L_NONE;
	c->result = -PX_ECANCELED;
	let_go(c);
	if (c->kind == FS_K_OPEN && c->ip) {
		fs_iput(c->fs, c->ip);
		c->ip = NULL;
	}
	op->c = NULL;
	call_free(c);
}

static const struct future_vtable op_vtable = { op_vpoll, op_vdrop };

/* strlen, but at most FS_PATH_MAX (C11 has no strnlen). */
static size_t bounded_len(const char *s)
{
	size_t n = 0;
	while (n < FS_PATH_MAX && s[n])
		n++;
	return n;
}

struct fs_call *fs_call_start(union io_slot *slot, struct fs *fs, enum fs_kind kind,
			      struct fs_inode *cwd, const char *path, const char *path2,
			      int64_t *err)
{
	struct fs_op *op = (struct fs_op *)slot;
	struct fs_call *c = fs_env_alloc(sizeof(*c));
	if (!c) {
		*err = -PX_ENOMEM;
		return NULL;
	}
	c->fs = fs;
	c->kind = (uint8_t)kind;
	c->state = ASYNC_INIT;
	c->io = &op->io;
	if (path) {
		size_t n1 = bounded_len(path), n2 = path2 ? bounded_len(path2) : 0;
		if (n1 >= FS_PATH_MAX || n2 >= FS_PATH_MAX) {
			fs_env_free(c, sizeof(*c));
			*err = -PX_ENAMETOOLONG;
			return NULL;
		}
		c->pathcap = n1 + 1 + (path2 ? n2 + 1 : 0);
		c->path = fs_env_alloc(c->pathcap);
		if (!c->path) {
			fs_env_free(c, sizeof(*c));
			*err = -PX_ENOMEM;
			return NULL;
		}
		memcpy(c->path, path, n1 + 1);
		if (path2) {
			c->path2 = c->path + n1 + 1;
			memcpy(c->path2, path2, n2 + 1);
		}
	}
	if (cwd && fs)
		c->cwd = fs_idup(fs, cwd);
	io_future_init(&op->io, &op_vtable);
	op->c = c;
	op->ip = NULL;
	op->pos = 0;
	op->fs = NULL;
	return c;
}

#define START(kind, cwd, p1, p2)                                                   \
	int64_t err_ = 0;                                                          \
	struct fs_call *c = fs_call_start(slot, fs, (kind), (cwd), (p1), (p2), &err_); \
	if (!c)                                                                    \
		return err_

int64_t fs_open(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path,
		int flags)
{
	START(FS_K_OPEN, cwd, path, NULL);
	c->flags = flags;
	return IO_STARTED;
}

int64_t fs_mkdir(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path)
{
	START(FS_K_MKDIR, cwd, path, NULL);
	return IO_STARTED;
}

int64_t fs_rmdir(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path)
{
	START(FS_K_RMDIR, cwd, path, NULL);
	return IO_STARTED;
}

int64_t fs_unlink(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path)
{
	START(FS_K_UNLINK, cwd, path, NULL);
	return IO_STARTED;
}

int64_t fs_rename(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *from,
		  const char *to)
{
	START(FS_K_RENAME, cwd, from, to);
	return IO_STARTED;
}

int64_t fs_link(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *from,
		const char *to)
{
	START(FS_K_LINK, cwd, from, to);
	return IO_STARTED;
}

int64_t fs_read(union io_slot *slot, struct fs *fs, struct fs_inode *ip, const void *vm,
		uint64_t va, uint64_t len, uint64_t off)
{
	if (len == 0)
		return 0;
	START(FS_K_READ, NULL, NULL, NULL);
	c->ip = ip;
	c->vm = vm;
	c->va = va;
	c->len = len;
	c->off = off;
	return IO_STARTED;
}

int64_t fs_write(union io_slot *slot, struct fs *fs, struct fs_inode *ip, const void *vm,
		 uint64_t va, uint64_t len, uint64_t off, bool append)
{
	if (len == 0)
		return 0;
	START(FS_K_WRITE, NULL, NULL, NULL);
	c->ip = ip;
	c->vm = vm;
	c->va = va;
	c->len = len;
	c->off = off;
	c->append = append;
	return IO_STARTED;
}

int64_t fs_truncate(union io_slot *slot, struct fs *fs, struct fs_inode *ip, uint64_t size)
{
	START(FS_K_TRUNC, NULL, NULL, NULL);
	c->ip = ip;
	c->off = size;
	return IO_STARTED;
}

int64_t fs_getdents(union io_slot *slot, struct fs *fs, struct fs_inode *ip, const void *vm,
		    uint64_t va, uint64_t len, uint64_t off)
{
	START(FS_K_GETDENTS, NULL, NULL, NULL);
	c->ip = ip;
	c->vm = vm;
	c->va = va;
	c->len = len;
	c->off = off;
	return IO_STARTED;
}

int64_t fs_stat(union io_slot *slot, struct fs *fs, struct fs_inode *ip, struct px_stat *st)
{
	START(FS_K_STAT, NULL, NULL, NULL);
	c->ip = ip;
	c->st = st;
	return IO_STARTED;
}

int64_t fs_fsync(union io_slot *slot, struct fs *fs, struct fs_inode *ip)
{
	START(FS_K_FSYNC, NULL, NULL, NULL);
	c->ip = ip;
	return IO_STARTED;
}

int64_t fs_reclaim(union io_slot *slot, struct fs *fs)
{
	START(FS_K_RECLAIM, NULL, NULL, NULL);
	return IO_STARTED;
}

struct fs_inode *fs_op_inode(union io_slot *slot)
{
	return ((struct fs_op *)slot)->ip;
}

struct fs *fs_op_fs(union io_slot *slot)
{
	return ((struct fs_op *)slot)->fs;
}

uint64_t fs_op_pos(union io_slot *slot)
{
	return ((struct fs_op *)slot)->pos;
}
