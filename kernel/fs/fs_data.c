/* Operations on contents: read, write, truncate, getdents, stat, fsync. */
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_impl.h"
#include "kernel/fs/fs_ops.h"
#include "kernel/fs/fs_steps.h"

static const uint8_t zeros[FS_BLOCK_SIZE];

/* ---- read, write, truncate --------------------------------------------------------------*/

/* File block fbn (disk block `block`, 0 for a hole) of ip (locked) is
 * being read: a sequential reader gets the next blocks started now. */
static void read_ahead(struct fs *fs, struct fs_inode *ip, uint64_t fbn, uint32_t block)
{
	if (fbn == ip->ra_next && block) {
		uint64_t last = (ip->d.size - 1) / FS_BLOCK_SIZE;
		for (uint64_t k = 1; k <= FS_READAHEAD && fbn + k <= last; k++) {
			uint32_t bn = fs_bmap_peek(fs, ip, fbn + k);
			if (bn)
				fs_prefetch(&fs->cache, bn);
		}
	}
	ip->ra_next = fbn + 1;
}

/*
 * A read holds the inode lock only to map one block (the pointers must
 * not change under it), never while the block loads, so reads of one
 * file overlap: 32 of them in flight are 32 device requests, and readers
 * of the same block share one.  A truncation between the map and the copy
 * could free the block (and someone reuse it): truncations count in
 * ip->tgen, and a block whose count moved meanwhile is read again.
 */
enum poll fs_op_read(struct fs_call *c, struct context *cx)
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
		read_ahead(fs, c->ip, (c->off + c->done) / FS_BLOCK_SIZE, c->block);
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
	fs_call_let_go(c);
	ASYNC_END(c);
}

/*
 * The read at once: the inode lock is held from the map to the last copy,
 * so no truncation can free a block in between (the future, which lets
 * go of the lock while a block loads, checks ip->tgen instead), and every
 * block is held before the first byte moves, so the answer is all of it
 * or FS_WOULD_WAIT with nothing done.
 */
int64_t fs_read_now(struct fs *fs, struct fs_inode *ip, const void *vm, uint64_t va,
		    uint64_t len, uint64_t off)
{
	if (len == 0)
		return 0;
	if (!fs_ilock_now(ip))
		return FS_WOULD_WAIT;
	int64_t r = FS_WOULD_WAIT;
	struct fs_buf *held[FS_READ_NOW_BLOCKS];
	uint32_t blocks[FS_READ_NOW_BLOCKS];
	uint32_t nheld = 0;
	uint64_t size = ip->d.size;
	if (ip->d.type == FS_T_DIR) {
		r = -PX_EISDIR;
		goto out;
	}
	if (off >= size) {
		r = 0;
		goto out;
	}
	uint64_t n = len < size - off ? len : size - off;
	uint64_t first = off / FS_BLOCK_SIZE, last = (off + n - 1) / FS_BLOCK_SIZE;
	if (last - first >= FS_READ_NOW_BLOCKS)
		goto out;
	for (uint64_t fbn = first; fbn <= last; fbn++) {
		/* Only a direct pointer tells a hole (0) from a map not cached. */
		uint32_t b = fbn < FS_NDIRECT ? ip->d.direct[fbn] : fs_bmap_peek(fs, ip, fbn);
		if ((!b && fbn >= FS_NDIRECT) || (b && !fs_block_ok(fs, b)))
			goto out;
		held[nheld] = b ? fs_bget_now(&fs->cache, b) : NULL;
		if (b && !held[nheld])
			goto out;
		blocks[nheld++] = b;
	}
	uint64_t done = 0;
	r = 0;
	for (uint32_t i = 0; i < nheld; i++) {
		uint64_t at = off + done, boff = at % FS_BLOCK_SIZE;
		uint64_t k = FS_BLOCK_SIZE - boff < n - done ? FS_BLOCK_SIZE - boff : n - done;
		read_ahead(fs, ip, first + i, blocks[i]);
		const uint8_t *src = held[i] ? (const uint8_t *)held[i]->data + boff : zeros;
		int e = fs_env_copyout(vm, va + done, src, k);
		if (e) {
			r = done ? (int64_t)done : e;
			break;
		}
		done += k;
		r = (int64_t)done;
	}
out:
	for (uint32_t i = 0; i < nheld; i++)
		if (held[i])
			fs_brelse(&fs->cache, held[i]);
	fs_iunlock(ip);
	return r;
}

enum poll fs_op_write(struct fs_call *c, struct context *cx)
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
				uint8_t *data = c->u.g.b->data;
				int r = fs_env_copyin(c->vm, data + boff, c->va + c->done, n);
				if (r) {
					/* Part of it may have landed (the program unmapped
					 * memory meanwhile): inside the file that is a
					 * partial write; past its end the bytes go back to
					 * zero, as a file's tail always is.  Either way the
					 * buffer is what the disk will hold. */
					uint64_t start = at - boff, size = c->ip->d.size;
					uint64_t keep = size > start ? size - start : 0;
					if (keep < FS_BLOCK_SIZE)
						memset(data + keep, 0, FS_BLOCK_SIZE - keep);
				}
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
	fs_call_let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

enum poll fs_op_truncate(struct fs_call *c, struct context *cx)
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
	fs_call_let_go(c);
	END_AND_WAIT();
	ASYNC_END(c);
}

/* ---- getdents, stat, fsync -------------------------------------------------------------*/

enum poll fs_op_getdents(struct fs_call *c, struct context *cx)
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
	fs_call_let_go(c);
	ASYNC_END(c);
}

/* ip (locked) as a stat record. */
static void stat_fill(struct fs_inode *ip, struct px_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->type = fs_inode_type(ip);
	st->nlink = ip->d.nlink;
	st->size = ip->d.size;
	st->ino = ip->inum;
	st->blocks = ip->d.blocks;
}

int64_t fs_stat_now(struct fs *fs, struct fs_inode *ip, struct px_stat *st)
{
	(void)fs;
	if (!fs_ilock_now(ip))
		return FS_WOULD_WAIT;
	stat_fill(ip, st);
	fs_iunlock(ip);
	return 0;
}

enum poll fs_op_stat(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	ILOCK(c->ip);
	stat_fill(c->ip, c->st);
	c->result = 0;
out:
	fs_call_let_go(c);
	(void)fs;
	ASYNC_END(c);
}

enum poll fs_op_fsync(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	fs_durable_init(&c->u.dur, &fs->log, c->ip->dirty_seq);
	STEP(L_DUR, fs_durable_poll(&c->u.dur, cx));
	c->result = c->u.dur.result;
	ASYNC_END(c);
}

