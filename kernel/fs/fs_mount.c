/* Mount (superblock checks, log recovery, free counts, the orphan pass) and unmount. */
#include <stddef.h>
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_ops.h"

/* One raw request of the mount: the page is the device's until Ready. */
#define RAW(c, writing, blk)                                                          \
	do {                                                                          \
		if (writing)                                                          \
			(c)->dev->ops->write((c)->dev, &(c)->req, (blk), (c)->page);  \
		else                                                                  \
			(c)->dev->ops->read((c)->dev, &(c)->req, (blk), (c)->page);   \
		AWAIT(c, future_poll(&(c)->req.base, cx));                            \
		if ((c)->req.result) {                                                \
			fs_env_say("fs: not mounting: %s block %u failed",            \
				   (writing) ? "writing" : "reading", (unsigned)(blk)); \
			FAIL(-PX_EIO);                                                \
		}                                                                     \
	} while (0)

#define FAIL(err)                                   \
	do {                                        \
		c->result = (err);                  \
		goto out;                           \
	} while (0)

void fs_teardown(struct fs *fs)
{
	if (!fs)
		return;
	/* After a failed commit the log still holds its buffers. */
	for (uint32_t i = 0; fs->log.bufs && i < fs->log.n; i++)
		fs_brelse(&fs->cache, fs->log.bufs[i]);
	fs->log.n = 0;
	fs_log_destroy(&fs->log);
	fs_cache_destroy(&fs->cache);
	for (uint32_t i = 0; fs->itab && i < fs->ninode; i++)
		fs_env_free(fs->itab[i], sizeof(*fs->itab[i]));
	fs_env_table_free(fs->itab, fs->itab_cap * sizeof(*fs->itab));
	if (fs->names)
		fs_env_page_free(fs->names);
	fs_env_free(fs, sizeof(*fs));
}

static uint32_t count_clear(const uint8_t *map, uint64_t first, uint64_t lo, uint64_t hi)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < FS_BLOCK_SIZE * 8; k++) {
		uint64_t i = first + k;
		if (i >= hi)
			break;
		if (i >= lo && !((map[k / 8] >> (k % 8)) & 1))
			n++;
	}
	return n;
}

enum poll fs_mount_poll(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	struct fs_log_header *h;
	ASYNC_BEGIN(c);
	c->io->busy = true; /* raw requests own c->page */
	c->page = fs_env_page_alloc();
	if (!c->page)
		FAIL(-PX_ENOMEM);
	RAW(c, false, 0);
	{
		struct fs_super sb;
		memcpy(&sb, c->page, sizeof(sb));
		const char *why = fs_super_invalid(&sb);
		if (!why && sb.nblocks > c->dev->nblocks)
			why = "the superblock says the disk is bigger than it is";
		if (why) {
			fs_env_say("fs: not mounting: %s", why);
			FAIL(-PX_EINVAL);
		}
		uint32_t nbuf = c->params.nbuf ? c->params.nbuf : 256;
		uint32_t ninode = c->params.ninode ? c->params.ninode : 64;
		fs = c->fs = fs_env_alloc(sizeof(*fs));
		if (!fs)
			FAIL(-PX_ENOMEM);
		fs->sb = sb;
		fs->dev = c->dev;
		spin_init(&fs->itab_lock);
		spin_init(&fs->names_lock);
		fs->names = fs_env_page_alloc();
		if (!fs->names)
			FAIL(-PX_ENOMEM);
		spin_init(&fs->dinode_lock);
		spin_init(&fs->alloc_lock);
		mutex_init(&fs->ns);
		fs->res_small = 16;
		fs->res_free = 20 + sb.bbitmap_blocks;
		fs->res_write = FS_WRITE_CHUNK + 5 +
				(sb.bbitmap_blocks < FS_WRITE_CHUNK + 3 ? sb.bbitmap_blocks : FS_WRITE_CHUNK + 3);
		uint32_t cap = fs_log_slots(&sb);
		if (cap > FS_LOG_MAX)
			cap = FS_LOG_MAX;
		if (cap > nbuf / 2)
			cap = nbuf / 2;
		uint32_t need = (fs->res_free > fs->res_write ? fs->res_free : fs->res_write) + 8;
		if (cap < need) {
			fs_env_say("fs: not mounting: a transaction may need %u log blocks, the log "
				   "(%u blocks) or the cache (%u buffers) holds %u", need,
				   sb.log_blocks, nbuf, cap);
			FAIL(-PX_EINVAL);
		}
		if (nbuf > FS_CACHE_MAX || ninode > FS_INODES_MAX) {
			fs_env_say("fs: not mounting: at most %u buffers and %u inodes", FS_CACHE_MAX,
				   FS_INODES_MAX);
			FAIL(-PX_EINVAL);
		}
		fs->itab = fs_env_table_alloc(ninode * sizeof(*fs->itab));
		if (!fs->itab)
			FAIL(-PX_ENOMEM);
		fs->itab_cap = ninode;
		for (uint32_t i = 0; i < ninode; i++) {
			struct fs_inode *ip = fs_env_alloc(sizeof(*ip));
			if (!ip)
				FAIL(-PX_ENOMEM);
			mutex_init(&ip->lock);
			fs->itab[fs->ninode++] = ip;
		}
		if (fs_cache_init(&fs->cache, c->dev, nbuf) ||
		    fs_log_init(&fs->log, &fs->cache, c->dev, sb.log_start,
				fs_log_header_block(&sb, 1), 0, cap, 0))
			FAIL(-PX_ENOMEM);
	}
	/* recovery: of the two header blocks, the complete one with the
	 * higher seq is the log (c->at: the second one is complete; then
	 * fs->log.hdr holds it) */
	RAW(c, false, fs_log_header_block(&fs->sb, 1));
	c->at = fs_log_header_ok(c->page, &fs->sb);
	if (c->at)
		memcpy(fs->log.hdr, c->page, FS_BLOCK_SIZE);
	RAW(c, false, fs->sb.log_start);
	h = c->page;
	if (h->magic != FS_LOG_MAGIC) {
		fs_env_say("fs: not mounting: the log header is damaged (bad magic)");
		FAIL(-PX_EINVAL);
	}
	if (!fs_log_header_ok(h, &fs->sb) &&
	    (h->count > FS_LOG_MAX || h->count > fs_log_slots(&fs->sb)) &&
	    (h->crc == fs_log_crc(h, 0) || h->count > FS_LOG_MAX)) {
		/* a count that cannot fit is damage, not a torn header */
		fs_env_say("fs: not mounting: the log header's count %u is impossible", h->count);
		FAIL(-PX_EINVAL);
	}
	c->next = 1; /* the header block that holds the log */
	if (fs_log_header_ok(h, &fs->sb) &&
	    (!c->at || h->seq > ((struct fs_log_header *)fs->log.hdr)->seq)) {
		memcpy(fs->log.hdr, h, FS_BLOCK_SIZE);
		c->next = 0;
	} else if (!c->at) {
		/* neither is complete: nothing was committed since the log
		 * was last emptied (an empty header would be complete) */
		memset(fs->log.hdr, 0, FS_BLOCK_SIZE);
		c->next = 0;
	}
	h = fs->log.hdr;
	for (uint32_t i = 0; i < h->count; i++) {
		uint32_t b = h->blocks[i];
		if (b >= fs->sb.nblocks ||
		    (b >= fs->sb.log_start && b < fs->sb.log_start + fs->sb.log_blocks)) {
			fs_env_say("fs: not mounting: log entry %u names block %u, outside the "
				   "disk or inside the log", i, b);
			FAIL(-PX_EINVAL);
		}
	}
	c->n = h->count;
	fs->log.seq = h->seq + 1;
	fs->log.durable = h->seq;
	fs->log.hcur = c->next;
	for (c->i = 0; c->i < c->n; c->i++) {
		RAW(c, false, fs->sb.log_start + 1 + c->i);
		RAW(c, true, ((struct fs_log_header *)fs->log.hdr)->blocks[c->i]);
	}
	if (c->n) {
		/* an empty header, newer than the one replayed, into the other
		 * block: if it is cut short, the replay runs again */
		struct fs_log_header *lh = fs->log.hdr;
		lh->count = 0;
		lh->seq = fs->log.seq;
		lh->crc = fs_log_crc(lh, 0);
		memcpy(c->page, lh, FS_BLOCK_SIZE);
		RAW(c, true, fs_log_header_block(&fs->sb, fs->log.hcur ^ 1));
		fs->log.hcur ^= 1;
		fs->log.durable = fs->log.seq;
		fs->log.seq++;
		fs_env_say("fs: replayed %u committed blocks from the log", c->n);
		/* the superblock may have been in it */
		RAW(c, false, 0);
		{
			struct fs_super sb;
			memcpy(&sb, c->page, sizeof(sb));
			const char *why = fs_super_invalid(&sb);
			if (why || memcmp(&sb, &fs->sb, offsetof(struct fs_super, orphan_head))) {
				fs_env_say("fs: not mounting: the superblock in the log is %s",
					   why ? why : "of another layout");
				FAIL(-PX_EINVAL);
			}
			fs->sb = sb;
		}
	}
	/* free blocks and inodes */
	for (c->i = 0; c->i < fs->sb.ibitmap_blocks; c->i++) {
		RAW(c, false, fs->sb.ibitmap_start + c->i);
		fs->free_inodes += count_clear(c->page, (uint64_t)c->i * FS_BLOCK_SIZE * 8, 1,
					       fs->sb.ninodes);
	}
	for (c->i = 0; c->i < fs->sb.bbitmap_blocks; c->i++) {
		RAW(c, false, fs->sb.bbitmap_start + c->i);
		fs->free_blocks += count_clear(c->page, (uint64_t)c->i * FS_BLOCK_SIZE * 8,
					       fs->sb.data_start, fs->sb.nblocks);
	}
	fs->root = fs_iget(fs, FS_ROOT_INUM);
	fs_ilock_init(&c->u.il, fs, fs->root);
	AWAIT(c, fs_ilock_poll(&c->u.il, cx));
	if (c->u.il.result) {
		fs_env_say("fs: not mounting: the root inode is damaged");
		FAIL(-PX_EINVAL);
	}
	fs_iunlock(fs->root);
	if (fs->root->d.type != FS_T_DIR) {
		fs_env_say("fs: not mounting: the root is not a directory");
		FAIL(-PX_EINVAL);
	}
	c->result = 0;
out:
	if (c->page)
		fs_env_page_free(c->page);
	c->page = NULL;
	c->io->busy = false;
	if (c->result < 0) {
		fs_teardown(c->fs);
		c->fs = NULL;
		ASYNC_RETURN(c);
	}
	/* the orphan pass runs as the rest of this call */
	c->kind = FS_K_MOUNT_ORPHANS;
	c->state = ASYNC_INIT;
	return fs_reclaim_poll(c, cx);
	ASYNC_END(c);
}

void fs_mount_drop(struct fs_call *c)
{
	(void)c; /* busy for its whole life: never dropped */
}

enum poll fs_unmount_poll(struct fs_call *c, struct context *cx)
{
	struct fs *fs = c->fs;
	ASYNC_BEGIN(c);
	{
		unsigned long f = spin_lock(&fs->itab_lock);
		bool busy = false;
		for (uint32_t i = 0; i < fs->ninode; i++)
			busy |= fs->itab[i]->refs > (fs->itab[i] == fs->root ? 1u : 0u);
		spin_unlock(&fs->itab_lock, f);
		if (busy) {
			c->result = -PX_EBUSY;
			c->fs = NULL;
			ASYNC_RETURN(c);
		}
	}
	/* Everything committed goes home, so the image needs no replay. */
	fs_durable_init(&c->u.dur, &fs->log, fs_log_seq(&fs->log) - 1);
	c->u.dur.empty = true;
	AWAIT(c, fs_durable_poll(&c->u.dur, cx));
	c->result = c->u.dur.result;
	/* A load whose readers all left may still be in flight: the device
	 * owns its page until it answers. */
	while (fs_cache_loading(&fs->cache)) {
		fs_bget_init(&c->u.g, &fs->cache, fs_cache_loading(&fs->cache)->block, false);
		AWAIT(c, fs_bget_poll(&c->u.g, cx));
		if (!c->u.g.result)
			fs_brelse(&fs->cache, c->u.g.b);
	}
	fs_iput(fs, fs->root);
	fs_teardown(fs);
	c->fs = NULL;
	ASYNC_END(c);
}

int64_t fs_mount(union io_slot *slot, struct fs_dev *dev, const struct fs_params *p)
{
	int64_t err = 0;
	struct fs_call *c = fs_call_start(slot, NULL, FS_K_MOUNT, NULL, NULL, NULL, &err);
	if (!c)
		return err;
	c->dev = dev;
	c->params = *p;
	return IO_STARTED;
}

int64_t fs_unmount(union io_slot *slot, struct fs *fs)
{
	int64_t err = 0;
	struct fs_call *c = fs_call_start(slot, fs, FS_K_UNMOUNT, NULL, NULL, NULL, &err);
	if (!c)
		return err;
	return IO_STARTED;
}

void fs_statfs(struct fs *fs, struct px_statfs *out)
{
	unsigned long f = spin_lock(&fs->alloc_lock);
	memset(out, 0, sizeof(*out));
	out->block_size = FS_BLOCK_SIZE;
	out->blocks = fs->sb.nblocks - fs->sb.data_start;
	out->blocks_free = fs->free_blocks;
	out->inodes = fs->sb.ninodes - 1;
	out->inodes_free = fs->free_inodes;
	spin_unlock(&fs->alloc_lock, f);
}

struct fs_inode *fs_root(struct fs *fs)
{
	return fs_idup(fs, fs->root);
}

void fs_get_stats(struct fs *fs, struct fs_stats *out)
{
	unsigned long f = spin_lock(&fs->cache.lock);
	out->hits = fs->cache.stats.hits;
	out->misses = fs->cache.stats.misses;
	out->shared = fs->cache.stats.shared;
	out->evictions = fs->cache.stats.evictions;
	out->reads = fs->cache.stats.reads;
	out->read_errors = fs->cache.stats.read_errors;
	out->prefetches = fs->cache.stats.prefetches;
	out->reads_in_flight_max = fs->cache.stats.loading_max;
	spin_unlock(&fs->cache.lock, f);
	f = spin_lock(&fs->log.lock);
	out->commits = fs->log.commits;
	out->blocks_committed = fs->log.blocks_committed;
	spin_unlock(&fs->log.lock, f);
}
