/* Operations on names: open (and create), mkdir, unlink, rmdir, rename, link. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_impl.h"
#include "kernel/fs/fs_ops.h"
#include "kernel/fs/fs_steps.h"

static bool is_dot(const char *n, uint32_t len)
{
	return (len == 1 && n[0] == '.') || (len == 2 && n[0] == '.' && n[1] == '.');
}

enum poll fs_op_open(struct fs_call *c, struct context *cx)
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
			if (!fs_claim_new(fs, c->ip))
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
	fs_call_let_go(c);
	END_AND_WAIT();
	if (c->result < 0 && c->ip) {
		fs_iput(fs, c->ip);
		c->ip = NULL;
	}
	ASYNC_END(c);
}

/*
 * The open at once: the walk of fs_walk_poll and the checks of
 * fs_op_open, each component taken from the name cache or else from its
 * directory locked only with fs_ilock_now and read only from cached
 * blocks.  Any step that would wait lets go of everything and
 * answers FS_WOULD_WAIT; the future then walks again from the start.
 */
int64_t fs_open_now(struct fs *fs, struct fs_inode *cwd, const char *path, int flags,
		    struct fs_inode **ipp)
{
	bool writing = (flags & PX_O_ACCMODE) != PX_O_RDONLY;
	if ((flags & PX_O_ACCMODE) == PX_O_ACCMODE)
		return -PX_EINVAL;
	if ((flags & PX_O_CREAT) || ((flags & PX_O_TRUNC) && writing))
		return FS_WOULD_WAIT;
	if (!path[0])
		return -PX_ENOENT;
	for (uint32_t n = 0; path[n]; n++)
		if (n + 1 >= FS_PATH_MAX)
			return -PX_ENAMETOOLONG; /* as fs_open's start says */
	struct fs_inode *ip = fs_idup(fs, path[0] == '/' || !cwd ? fs->root : cwd);
	bool trailing = false;
	int64_t r = 0;
	uint32_t pos = 0;
	for (;;) {
		uint32_t s = pos, e, after, inum = 0;
		while (path[s] == '/')
			s++;
		if (!path[s])
			break;
		e = s;
		while (path[e] && path[e] != '/')
			e++;
		if (e - s > FS_NAME_MAX) {
			r = -PX_ENAMETOOLONG;
			goto fail;
		}
		after = e;
		while (path[after] == '/')
			after++;
		pos = e;
		trailing = after > e;
		struct fs_inode *next = NULL;
		switch (fs_name_recall(fs, ip->inum, path + s, e - s, &next)) {
		case FS_RECALL_HIT:
			/* Only a directory's names are cached: no lock, no read. */
			fs_iput(fs, ip);
			ip = next;
			continue;
		case FS_RECALL_NO_ENTRY:
			r = FS_WOULD_WAIT; /* the future says ENFILE */
			goto fail;
		case FS_RECALL_MISS:
			break;
		}
		if (!fs_ilock_now(ip)) {
			r = FS_WOULD_WAIT;
			goto fail;
		}
		if (ip->d.type != FS_T_DIR)
			r = -PX_ENOTDIR;
		else
			r = fs_dirlookup_now(fs, ip, path + s, e - s, &inum);
		if (!r && !(next = fs_iget(fs, inum)))
			r = FS_WOULD_WAIT; /* the future says ENFILE */
		fs_iunlock(ip);
		if (r)
			goto fail;
		fs_iput(fs, ip);
		ip = next;
	}
	if (!fs_ilock_now(ip)) {
		r = FS_WOULD_WAIT;
		goto fail;
	}
	if (ip->d.type == FS_T_DIR) {
		if (writing || (flags & (PX_O_CREAT | PX_O_TRUNC)))
			r = -PX_EISDIR;
	} else if ((flags & PX_O_DIRECTORY) || trailing) {
		r = -PX_ENOTDIR;
	}
	fs_iunlock(ip);
	if (r)
		goto fail;
	*ipp = ip;
	return 0;
fail:
	fs_iput(fs, ip);
	return r;
}

/* ---- mkdir ----------------------------------------------------------------------------*/

enum poll fs_op_mkdir(struct fs_call *c, struct context *cx)
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
		fs_names_forget(fs);
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
	if (!fs_claim_new(fs, c->victim))
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
	fs_call_let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- unlink and rmdir ---------------------------------------------------------------------*/

enum poll fs_op_remove(struct fs_call *c, struct context *cx)
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
	if (is_dot(c->name, c->len)) {
		/* "/" itself (a path of slashes only) is busy, as on Linux */
		bool root = c->path[strspn(c->path, "/")] == '\0';
		FAIL(!dir ? -PX_EISDIR : root ? -PX_EBUSY : c->len == 1 ? -PX_EINVAL : -PX_ENOTEMPTY);
	}
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
	fs_call_let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- rename and link ----------------------------------------------------------------------*/

enum poll fs_op_rename(struct fs_call *c, struct context *cx)
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
	fs_call_let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

enum poll fs_op_link(struct fs_call *c, struct context *cx)
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
	fs_call_let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}


/* ---- the path of a directory ------------------------------------------------------------*/

/*
 * Built backwards from the end of c->out: each step locks the current
 * directory, reads its "..", then locks the parent and finds the entry
 * that names the current directory by its inode number.  fs->ns is held
 * throughout, so no rename or rmdir moves the tree under the climb; one
 * inode lock at a time, as everywhere.
 */
enum poll fs_op_getpath(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	LOCK_NS();
	c->cur = fs_idup(fs, c->ip);
	c->at = c->outcap - 1;
	c->out[c->at] = '\0';
	ILOCK(c->cur);
	if (c->cur->d.type != FS_T_DIR)
		FAIL(-PX_ENOTDIR);
	if (c->cur->d.nlink == 0)
		FAIL(-PX_ENOENT);
	IUNLOCK();
	while (c->cur != fs->root) {
		ILOCK(c->cur);
		LOOKUP(c->cur, "..", 2);
		if (c->u.dl.result == -PX_ENOENT) {
			fs_damaged(fs, "directory without \"..\": inode", c->cur->inum);
			FAIL(-PX_EIO);
		}
		if (c->u.dl.result)
			FAIL(c->u.dl.result);
		c->inum = c->u.dl.inum;
		IUNLOCK();
		c->dp = fs_iget(fs, c->inum);
		if (!c->dp)
			FAIL(-PX_ENFILE);
		ILOCK(c->dp);
		fs_dirlookup_inum_init(&c->u.dl, fs, c->dp, c->cur->inum, c->comp);
		STEP(L_LOOKUP, fs_dirlookup_poll(&c->u.dl, cx));
		if (c->u.dl.result == -PX_ENOENT) {
			fs_damaged(fs, "directory missing from its parent: inode", c->cur->inum);
			FAIL(-PX_EIO);
		}
		if (c->u.dl.result)
			FAIL(c->u.dl.result);
		IUNLOCK();
		if (c->u.dl.len + 1 > c->at)
			FAIL(-PX_ENAMETOOLONG);
		c->at -= c->u.dl.len;
		memcpy(c->out + c->at, c->comp, c->u.dl.len);
		c->out[--c->at] = '/';
		fs_iput(fs, c->cur);
		c->cur = c->dp;
		c->dp = NULL;
		if (++c->climb > fs->sb.ninodes) {
			fs_damaged(fs, "directory tree loops above inode", c->ip->inum);
			FAIL(-PX_EIO);
		}
	}
	if (c->at == c->outcap - 1)
		c->out[--c->at] = '/';
	c->result = (int64_t)(c->outcap - 1 - c->at);
	memmove(c->out, c->out + c->at, (size_t)c->result + 1);
out:
	fs_call_let_go(c);
	ASYNC_END(c);
}
