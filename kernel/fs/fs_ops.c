/* The operations' common parts: releasing, freeing inodes, the orphan list, reclaim, and the future in the caller's slot. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_impl.h"
#include "kernel/fs/fs_ops.h"
#include "kernel/fs/fs_steps.h"

_Static_assert(sizeof(struct fs_call) <= 2048, "fs_env_alloc gives at most 2048 bytes");

/* Release everything the call holds that needs no waiting. */
void fs_call_let_go(struct fs_call *c)
{
	struct fs *fs = c->fs;
	if (c->locked) {
		fs_iunlock(c->locked);
		c->locked = NULL;
	}
	/* The references go before the namespace lock: an inode this call
	 * freed may be given out again by the next create as soon as the
	 * lock is free, and the create must find its entry unheld
	 * (fs_claim_new). */
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
	if (c->ns_held) {
		mutex_unlock(&fs->ns);
		c->ns_held = false;
	}
	if (c->begun && c->dirtied && c->result == -PX_EIO)
		fs_log_abort(&fs->log);
}

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
 * orphan pass, through RELEASE_INODE (state kept in c->rel_state). */
enum poll fs_release_inode(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	struct fs_inode *ip = c->victim;
	switch (c->rel_state) {
	case 0:
		/* Its number may name another inode soon: no name may lead to it. */
		fs_names_forget(fs);
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

/* c->victim (locked) lost its last link: free it now if nobody else
 * holds it, else put it at the head of the orphan list (fs_reclaim frees
 * it when the last reference goes).  Uses c->sub_state. */
enum poll fs_unlinked_inode(struct fs_call *c, struct context *cx)
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
		return fs_release_inode(c, cx);
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

/* A just-allocated inode's in-memory entry (referenced once by us) must
 * be unused and is locked now.  If it is not — the inode bitmap said
 * "free" of an inode in use — that is damage: false. */
bool fs_claim_new(struct fs *fs, struct fs_inode *ip)
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

bool fs_reclaim_due(struct fs *fs)
{
	unsigned long f = spin_lock(&fs->itab_lock);
	bool due = fs->reclaim > 0;
	spin_unlock(&fs->itab_lock, f);
	return due;
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
	fs_call_let_go(c);
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
	case FS_K_OPEN: return fs_op_open(c, cx);
	case FS_K_MKDIR: return fs_op_mkdir(c, cx);
	case FS_K_UNLINK:
	case FS_K_RMDIR: return fs_op_remove(c, cx);
	case FS_K_RENAME: return fs_op_rename(c, cx);
	case FS_K_LINK: return fs_op_link(c, cx);
	case FS_K_READ: return fs_op_read(c, cx);
	case FS_K_WRITE: return fs_op_write(c, cx);
	case FS_K_TRUNC: return fs_op_truncate(c, cx);
	case FS_K_GETDENTS: return fs_op_getdents(c, cx);
	case FS_K_STAT: return fs_op_stat(c, cx);
	case FS_K_FSYNC: return fs_op_fsync(c, cx);
	case FS_K_GETPATH: return fs_op_getpath(c, cx);
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
	/* Set at every poll: a future may move between its start and its
	 * first poll (a ring operation is started on the stack, then copied
	 * into its task). */
	c->io = &op->io;
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
	fs_call_let_go(c);
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
	/* Zeroed up to the union of steps: each step's future is initialised
	 * when the step starts (and c->live says which one to drop), and
	 * clearing the union too would cost a third of a cached read. */
	struct fs_call *c = fs_env_alloc_head(sizeof(*c), offsetof(struct fs_call, u));
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

int64_t fs_getpath(union io_slot *slot, struct fs *fs, struct fs_inode *dir, char *buf,
		   size_t cap)
{
	if (cap < 2 || cap > UINT32_MAX)
		return -PX_EINVAL;
	START(FS_K_GETPATH, NULL, NULL, NULL);
	c->ip = dir;
	c->out = buf;
	c->outcap = (uint32_t)cap;
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

