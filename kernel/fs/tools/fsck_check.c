/* The file-system checker: every block accounted for once, link counts, directory tree, log, superblock. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/fs_format.h"
#include "kernel/fs/tools/fsck_check.h"

/*
 * Passes, in order:
 *   1. superblock: fs_super_invalid (the kernel's own test), and the disk
 *      holds nblocks;
 *   2. log header: a committed transaction's blocks are read through an
 *      overlay (block -> log block), so every later pass sees the image as
 *      the mount will after recovery;
 *   3. inodes: type, size, pointers in the data region, no block owned
 *      twice, no pointer past the end of a file, the blocks count;
 *   4. bitmaps: the inode bitmap agrees with the types, the block bitmap
 *      with the owners (metadata blocks used, bits past the disk clear);
 *   5. directories: ".", ".." first, valid names, no duplicates, entries
 *      name allocated inodes of the type they say; the tree from the root
 *      reaches every directory once (no cycles, no second parent);
 *   6. link counts and the orphan list.
 */

#define OWN_NONE 0u
#define OWN_META 0xffffffffu

struct ck {
	fsck_read_fn *rd;
	void *ctx;
	FILE *out;
	struct fsck_result *res;
	struct fs_super sb;
	uint32_t *overlay;          /* home block -> log block, 0: none */
	struct fs_dinode *inodes;   /* the whole table */
	uint32_t *owner;            /* per block: OWN_NONE, OWN_META or inode */
	uint32_t *refs;             /* per inode: directory entries naming it */
	uint32_t *parent;           /* per directory inode: the entry naming it */
	uint8_t *blk;               /* scratch */
};

static void say(struct ck *c, bool error, const char *fmt, ...)
{
	va_list ap;
	if (error)
		c->res->errors++;
	else
		c->res->notes++;
	/* The first hundred errors are enough to say what is wrong. */
	if (error && c->res->errors > 100)
		return;
	fprintf(c->out, "fsck: %s: ", error ? "error" : "note");
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static int get(struct ck *c, uint32_t b, void *buf)
{
	if (c->overlay && b < c->sb.nblocks && c->overlay[b])
		b = c->overlay[b];
	return c->rd(c->ctx, b, buf);
}

static bool bit(const uint8_t *map, uint32_t i)
{
	return (map[i / 8] >> (i % 8)) & 1;
}

/* ---- log --------------------------------------------------------------------*/

static void check_log(struct ck *c, fsck_write_fn *wr)
{
	/* Two header blocks (fs_log_header_block); the complete one with
	 * the higher seq is the log.  The first must at least have the
	 * magic (mkfs writes it); the second may be anything. */
	struct fs_log_header *h = malloc(FS_BLOCK_SIZE), *h2 = malloc(FS_BLOCK_SIZE);
	uint32_t hb = fs_log_header_block(&c->sb, 1);
	if (!h || !h2 || c->rd(c->ctx, c->sb.log_start, h) != 0) {
		say(c, true, "log header (block %u) unreadable", c->sb.log_start);
		free(h);
		free(h2);
		return;
	}
	if (h->magic != FS_LOG_MAGIC) {
		say(c, true, "log header (block %u): bad magic %#x", c->sb.log_start, h->magic);
		free(h);
		free(h2);
		return;
	}
	uint32_t cap = fs_log_slots(&c->sb);
	bool ok1 = fs_log_header_ok(h, &c->sb);
	bool ok2 = c->rd(c->ctx, hb, h2) == 0 && fs_log_header_ok(h2, &c->sb);
	if (!ok1 && h->crc == fs_log_crc(h, 0) && (h->count > cap || h->count > FS_LOG_MAX)) {
		say(c, true, "log header: count %u exceeds the log's %u blocks", h->count, cap);
		free(h);
		free(h2);
		return;
	}
	unsigned which = 0;
	if (ok2 && (!ok1 || h2->seq > h->seq)) {
		struct fs_log_header *t = h;
		h = h2;
		h2 = t;
		which = 1;
	}
	free(h2);
	if (!ok1 && !ok2) {
		say(c, false, "log header checksum mismatch: an incomplete header write, "
			"treated as an empty log (nothing was committed by it)");
		free(h);
		return;
	}
	if (h->count == 0) {
		free(h);
		return;
	}
	for (uint32_t i = 0; i < h->count; i++) {
		uint32_t b = h->blocks[i];
		if (b >= c->sb.nblocks || (b >= c->sb.log_start && b < c->sb.log_start + c->sb.log_blocks)) {
			say(c, true, "log entry %u names block %u, outside the disk or inside the log", i, b);
			free(h);
			return;
		}
	}
	c->overlay = calloc(c->sb.nblocks, sizeof(uint32_t));
	if (!c->overlay) {
		free(h);
		return;
	}
	for (uint32_t i = 0; i < h->count; i++)
		c->overlay[h->blocks[i]] = c->sb.log_start + 1 + i;
	uint32_t count = h->count;
	unsigned long long hseq = (unsigned long long)h->seq;
	if (wr) {
		uint8_t *buf = malloc(FS_BLOCK_SIZE);
		bool ok = buf != NULL;
		for (uint32_t i = 0; ok && i < h->count; i++)
			ok = c->rd(c->ctx, c->sb.log_start + 1 + i, buf) == 0 &&
			     wr(c->ctx, h->blocks[i], buf) == 0;
		if (ok) {
			/* an empty header, newer, into the other block */
			uint64_t seq = h->seq + 1;
			memset(h, 0, FS_BLOCK_SIZE);
			h->magic = FS_LOG_MAGIC;
			h->seq = seq;
			h->crc = fs_log_crc(h, 0);
			ok = wr(c->ctx, fs_log_header_block(&c->sb, which ^ 1), h) == 0;
		}
		free(buf);
		if (!ok) {
			say(c, true, "replaying the log failed (write error)");
		} else {
			say(c, false, "replayed the committed transactions in the log (seq %llu, %u blocks)", hseq, count);
			c->res->replayed = true;
			free(c->overlay);
			c->overlay = NULL;
		}
	} else {
		say(c, false, "the log holds committed transactions (seq %llu, %u blocks) not yet "
			"installed: checked as the mount will replay it", hseq, count);
	}
	free(h);
}

/* ---- inodes and blocks ----------------------------------------------------------*/

/* Claim block b for inode inum as its `what`; false if b is unusable. */
static bool claim(struct ck *c, uint32_t inum, uint32_t b, const char *what, uint32_t *count)
{
	if (b < c->sb.data_start || b >= c->sb.nblocks) {
		say(c, true, "inode %u: %s block %u outside the data region [%u, %u)", inum, what, b,
		    c->sb.data_start, c->sb.nblocks);
		return false;
	}
	if (c->owner[b] != OWN_NONE) {
		say(c, true, "block %u claimed twice: by inode %u and by inode %u (%s)", b,
		    c->owner[b], inum, what);
		return false;
	}
	c->owner[b] = inum;
	(*count)++;
	return true;
}

/* File block n of inode inum exists (pointer p != 0): is it within size? */
static void past_eof(struct ck *c, uint32_t inum, uint64_t n, uint32_t p)
{
	uint64_t nblk = (c->inodes[inum].size + FS_BLOCK_SIZE - 1) / FS_BLOCK_SIZE;
	if (n >= nblk)
		say(c, true, "inode %u: block %u at file block %llu, past the end (size %llu)", inum, p,
		    (unsigned long long)n, (unsigned long long)c->inodes[inum].size);
}

static void walk_indirect(struct ck *c, uint32_t inum, uint32_t ind, uint64_t first,
			  uint32_t *count)
{
	uint32_t *p = malloc(FS_BLOCK_SIZE);
	if (!p)
		return;
	if (get(c, ind, p) != 0) {
		say(c, true, "inode %u: indirect block %u unreadable", inum, ind);
		free(p);
		return;
	}
	for (uint32_t i = 0; i < FS_NINDIRECT; i++) {
		if (!p[i])
			continue;
		past_eof(c, inum, first + i, p[i]);
		claim(c, inum, p[i], "data", count);
	}
	free(p);
}

static void check_inode(struct ck *c, uint32_t inum)
{
	struct fs_dinode *d = &c->inodes[inum];
	if (d->type == FS_T_FILE)
		c->res->files++;
	else
		c->res->dirs++;
	bool dir = d->type == FS_T_DIR;
	if (d->size > FS_MAX_FILE_SIZE ||
	    (dir && (d->size % FS_BLOCK_SIZE != 0 || d->size == 0 ||
		     d->size > (uint64_t)FS_DIR_MAX_BLOCKS * FS_BLOCK_SIZE))) {
		say(c, true, "inode %u: size %llu impossible for a %s", inum,
		    (unsigned long long)d->size, dir ? "directory" : "file");
		return;
	}
	uint32_t count = 0;
	for (uint32_t i = 0; i < FS_NDIRECT; i++)
		if (d->direct[i]) {
			past_eof(c, inum, i, d->direct[i]);
			claim(c, inum, d->direct[i], "data", &count);
		}
	if (d->indirect && claim(c, inum, d->indirect, "indirect", &count))
		walk_indirect(c, inum, d->indirect, FS_NDIRECT, &count);
	if (d->dindirect) {
		if (dir)
			say(c, true, "inode %u: a directory with a double-indirect block", inum);
		else if (claim(c, inum, d->dindirect, "double-indirect", &count)) {
			uint32_t *p = malloc(FS_BLOCK_SIZE);
			if (p && get(c, d->dindirect, p) == 0) {
				for (uint32_t i = 0; i < FS_NINDIRECT; i++)
					if (p[i] && claim(c, inum, p[i], "indirect", &count))
						walk_indirect(c, inum, p[i],
							      FS_NDIRECT + FS_NINDIRECT +
								      (uint64_t)i * FS_NINDIRECT,
							      &count);
			} else {
				say(c, true, "inode %u: double-indirect block %u unreadable", inum,
				    d->dindirect);
			}
			free(p);
		}
	}
	if (count != d->blocks)
		say(c, true, "inode %u: blocks field says %u, pointers reach %u", inum, d->blocks, count);
	for (uint32_t i = 0; i < 13; i++)
		if (d->reserved[i]) {
			say(c, true, "inode %u: reserved field not zero", inum);
			break;
		}
}

static void check_bitmaps(struct ck *c)
{
	uint8_t *map = c->blk;
	for (uint32_t bi = 0; bi < c->sb.ibitmap_blocks; bi++) {
		if (get(c, c->sb.ibitmap_start + bi, map) != 0) {
			say(c, true, "inode bitmap block %u unreadable", c->sb.ibitmap_start + bi);
			continue;
		}
		for (uint32_t k = 0; k < FS_BLOCK_SIZE * 8; k++) {
			uint64_t i = (uint64_t)bi * FS_BLOCK_SIZE * 8 + k;
			bool used = bit(map, k);
			if (i >= c->sb.ninodes) {
				if (used)
					say(c, true, "inode bitmap: bit %llu set past the inode table",
					    (unsigned long long)i);
				continue;
			}
			bool want = i == 0 || c->inodes[i].type != FS_T_FREE;
			if (used != want)
				say(c, true, "inode bitmap: inode %llu is %s but marked %s",
				    (unsigned long long)i, want ? "in use" : "free",
				    used ? "used" : "free");
		}
	}
	for (uint32_t bi = 0; bi < c->sb.bbitmap_blocks; bi++) {
		if (get(c, c->sb.bbitmap_start + bi, map) != 0) {
			say(c, true, "block bitmap block %u unreadable", c->sb.bbitmap_start + bi);
			continue;
		}
		for (uint32_t k = 0; k < FS_BLOCK_SIZE * 8; k++) {
			uint64_t b = (uint64_t)bi * FS_BLOCK_SIZE * 8 + k;
			bool used = bit(map, k);
			if (b >= c->sb.nblocks) {
				if (used)
					say(c, true, "block bitmap: bit %llu set past the disk",
					    (unsigned long long)b);
				continue;
			}
			if (used)
				c->res->used_blocks++;
			uint32_t o = c->owner[b];
			bool want = o != OWN_NONE;
			if (used == want)
				continue;
			if (used)
				say(c, true, "block %llu marked used but no inode owns it (lost)",
				    (unsigned long long)b);
			else if (o == OWN_META)
				say(c, true, "metadata block %llu marked free", (unsigned long long)b);
			else
				say(c, true, "block %llu owned by inode %u but marked free",
				    (unsigned long long)b, o);
		}
	}
}

/* ---- directories -------------------------------------------------------------------*/

/* The block of directory d at index n, 0 if none (a hole) or unreadable. */
static uint32_t dir_block(struct ck *c, const struct fs_dinode *d, uint32_t n)
{
	if (n < FS_NDIRECT)
		return d->direct[n];
	uint32_t *p = malloc(FS_BLOCK_SIZE), b = 0;
	if (p && d->indirect && d->indirect < c->sb.nblocks && get(c, d->indirect, p) == 0)
		b = p[n - FS_NDIRECT];
	free(p);
	return b;
}

static void check_dir(struct ck *c, uint32_t inum)
{
	struct fs_dinode *d = &c->inodes[inum];
	uint32_t nblk = (uint32_t)(d->size / FS_BLOCK_SIZE);
	if (nblk == 0 || d->size > (uint64_t)FS_DIR_MAX_BLOCKS * FS_BLOCK_SIZE)
		return; /* reported by check_inode */
	/* A directory removed while still open (no links, on the orphan
	 * list) is dead: its "." and ".." name nothing any more. */
	bool dead = d->nlink == 0;
	struct fs_dirent *e = malloc(FS_BLOCK_SIZE);
	/* names seen in this directory, for duplicates */
	uint32_t cap = nblk * FS_DIRENTS_PER_BLOCK, seen_n = 0;
	struct fs_dirent **seen = calloc(cap, sizeof(*seen));
	struct fs_dirent *all = calloc(cap, sizeof(*all));
	if (!e || !seen || !all)
		goto out;
	for (uint32_t n = 0; n < nblk; n++) {
		uint32_t b = dir_block(c, d, n);
		if (!b || b >= c->sb.nblocks || c->owner[b] != inum) {
			say(c, true, "directory %u: block %u of its %u is missing", inum, n, nblk);
			continue;
		}
		if (get(c, b, e) != 0) {
			say(c, true, "directory %u: block %u unreadable", inum, b);
			continue;
		}
		for (uint32_t k = 0; k < FS_DIRENTS_PER_BLOCK; k++) {
			struct fs_dirent *x = &e[k];
			uint32_t slot = n * FS_DIRENTS_PER_BLOCK + k;
			bool want_dot = slot == 0, want_dotdot = slot == 1;
			if (!x->inum) {
				if (want_dot || want_dotdot)
					say(c, true, "directory %u: no %s entry", inum,
					    want_dot ? "\".\"" : "\"..\"");
				continue;
			}
			if (x->inum >= c->sb.ninodes || c->inodes[x->inum].type == FS_T_FREE) {
				say(c, true, "directory %u: entry %u names inode %u, which is %s", inum,
				    slot, x->inum, x->inum >= c->sb.ninodes ? "out of range" : "free");
				continue;
			}
			if (x->name_len == 0 || x->name_len > FS_NAME_MAX ||
			    memchr(x->name, '/', x->name_len) || memchr(x->name, 0, x->name_len)) {
				say(c, true, "directory %u: entry %u has an invalid name", inum, slot);
				continue;
			}
			bool tail_zero = x->reserved == 0;
			for (uint32_t i = x->name_len; i < FS_NAME_MAX; i++)
				tail_zero &= x->name[i] == 0;
			if (!tail_zero)
				say(c, true, "directory %u: entry %u has stray bytes after its name", inum, slot);
			if (x->type != c->inodes[x->inum].type)
				say(c, true, "directory %u: entry %.*s says type %u, inode %u is type %u",
				    inum, x->name_len, x->name, x->type, x->inum, c->inodes[x->inum].type);
			bool is_dot = x->name_len == 1 && x->name[0] == '.';
			bool is_dotdot = x->name_len == 2 && x->name[0] == '.' && x->name[1] == '.';
			if (is_dot != want_dot || is_dotdot != want_dotdot) {
				say(c, true, "directory %u: entry %u is %.*s; \".\" and \"..\" belong in "
					"entries 0 and 1 only", inum, slot, x->name_len, x->name);
				continue;
			}
			if (!dead)
				c->refs[x->inum]++;
			if (is_dot) {
				if (x->inum != inum)
					say(c, true, "directory %u: \".\" names inode %u", inum, x->inum);
				continue;
			}
			if (is_dotdot)
				continue; /* checked against the parent in check_tree */
			for (uint32_t i = 0; i < seen_n; i++)
				if (seen[i]->name_len == x->name_len &&
				    memcmp(seen[i]->name, x->name, x->name_len) == 0)
					say(c, true, "directory %u: name %.*s appears twice", inum,
					    x->name_len, x->name);
			all[seen_n] = *x;
			seen[seen_n] = &all[seen_n];
			seen_n++;
			if (c->inodes[x->inum].type == FS_T_DIR && !dead) {
				if (c->parent[x->inum])
					say(c, true, "directory %u has two parents: %u and %u", x->inum,
					    c->parent[x->inum], inum);
				else
					c->parent[x->inum] = inum;
			}
		}
	}
out:
	free(e);
	free(seen);
	free(all);
}

/* The ".." of directory inum (0 if unreadable). */
static uint32_t dotdot(struct ck *c, uint32_t inum)
{
	struct fs_dirent *e = malloc(FS_BLOCK_SIZE);
	uint32_t r = 0, b = c->inodes[inum].direct[0];
	if (e && b && b < c->sb.nblocks && get(c, b, e) == 0 && e[1].name_len == 2)
		r = e[1].inum;
	free(e);
	return r;
}

static void check_tree(struct ck *c)
{
	uint32_t n = c->sb.ninodes;
	if (c->inodes[FS_ROOT_INUM].type != FS_T_DIR) {
		say(c, true, "the root (inode 1) is not a directory");
		return;
	}
	if (c->parent[FS_ROOT_INUM])
		say(c, true, "the root is named by directory %u", c->parent[FS_ROOT_INUM]);
	c->parent[FS_ROOT_INUM] = FS_ROOT_INUM;
	/* Every directory's chain of parents must reach the root within n
	 * steps: otherwise it sits on a cycle or hangs below one. */
	uint8_t *ok = calloc(n, 1);
	if (!ok)
		return;
	ok[FS_ROOT_INUM] = 1;
	for (uint32_t i = 1; i < n; i++) {
		if (c->inodes[i].type != FS_T_DIR)
			continue;
		if (c->parent[i] && dotdot(c, i) != c->parent[i])
			say(c, true, "directory %u: \"..\" names %u, but its parent is %u", i,
			    dotdot(c, i), c->parent[i]);
		uint32_t at = i, steps = 0;
		while (!ok[at] && c->parent[at] && steps < n) {
			at = c->parent[at];
			steps++;
		}
		if (ok[at]) {
			for (at = i; !ok[at]; at = c->parent[at])
				ok[at] = 1;
		} else if (!c->parent[at] && c->inodes[i].nlink) {
			say(c, true, "directory %u is not reachable from the root", i);
		} else if (c->parent[at]) {
			say(c, true, "directory %u is on a cycle of directories", i);
		}
	}
	free(ok);
}

static void check_links(struct ck *c)
{
	uint32_t n = c->sb.ninodes;
	uint8_t *orphan = calloc(n, 1);
	if (!orphan)
		return;
	uint32_t at = c->sb.orphan_head, steps = 0;
	while (at) {
		if (at >= n || c->inodes[at].type == FS_T_FREE) {
			say(c, true, "orphan list: inode %u is %s", at, at >= n ? "out of range" : "free");
			break;
		}
		if (orphan[at] || ++steps > n) {
			say(c, true, "orphan list loops at inode %u", at);
			break;
		}
		orphan[at] = 1;
		if (c->inodes[at].nlink)
			say(c, true, "orphan list: inode %u still has %u links", at, c->inodes[at].nlink);
		at = c->inodes[at].next_orphan;
	}
	for (uint32_t i = 1; i < n; i++) {
		struct fs_dinode *d = &c->inodes[i];
		if (d->type == FS_T_FREE)
			continue;
		if (!orphan[i] && d->next_orphan)
			say(c, true, "inode %u: next_orphan %u set but not on the orphan list", i,
			    d->next_orphan);
		if (d->nlink == 0 && !orphan[i]) {
			say(c, true, "inode %u: allocated with no links and not on the orphan list", i);
			continue;
		}
		if (d->nlink != c->refs[i]) {
			if (d->nlink == 0)
				continue; /* an orphan */
			say(c, true, "inode %u: link count %u, but %u directory entries name it", i,
			    d->nlink, c->refs[i]);
		}
	}
	free(orphan);
}

unsigned fsck_check(fsck_read_fn *rd, fsck_write_fn *wr, void *ctx, uint64_t disk_blocks,
		    FILE *out, struct fsck_result *res)
{
	struct ck c = { .rd = rd, .ctx = ctx, .out = out, .res = res };
	memset(res, 0, sizeof(*res));
	c.blk = malloc(FS_BLOCK_SIZE);
	if (!c.blk || rd(ctx, 0, c.blk) != 0) {
		say(&c, true, "superblock unreadable");
		free(c.blk);
		return res->errors;
	}
	memcpy(&c.sb, c.blk, sizeof(c.sb));
	const char *why = fs_super_invalid(&c.sb);
	if (why) {
		say(&c, true, "superblock: %s", why);
		free(c.blk);
		return res->errors;
	}
	if (c.sb.nblocks > disk_blocks) {
		say(&c, true, "superblock: %u blocks, but the disk holds %llu", c.sb.nblocks,
		    (unsigned long long)disk_blocks);
		free(c.blk);
		return res->errors;
	}
	check_log(&c, wr);
	if (res->errors)
		goto out;
	/* The superblock may be in the transaction (the orphan list). */
	if (get(&c, 0, c.blk) == 0) {
		memcpy(&c.sb, c.blk, sizeof(c.sb));
		why = fs_super_invalid(&c.sb);
		if (why) {
			say(&c, true, "superblock after the log's transaction: %s", why);
			goto out;
		}
	}
	uint32_t n = c.sb.ninodes;
	c.inodes = calloc(n, sizeof(*c.inodes));
	c.owner = calloc(c.sb.nblocks, sizeof(*c.owner));
	c.refs = calloc(n, sizeof(*c.refs));
	c.parent = calloc(n, sizeof(*c.parent));
	if (!c.inodes || !c.owner || !c.refs || !c.parent) {
		say(&c, true, "out of memory");
		goto out;
	}
	for (uint32_t b = 0; b < c.sb.inode_blocks; b++)
		if (get(&c, c.sb.inode_start + b, (uint8_t *)c.inodes + (size_t)b * FS_BLOCK_SIZE) != 0)
			say(&c, true, "inode table block %u unreadable", c.sb.inode_start + b);
	for (uint32_t b = 0; b < c.sb.data_start; b++)
		c.owner[b] = OWN_META;
	if (c.inodes[0].type != FS_T_FREE)
		say(&c, true, "inode 0 is in use");
	for (uint32_t i = 1; i < n; i++) {
		uint16_t t = c.inodes[i].type;
		if (t == FS_T_FREE)
			continue;
		if (t != FS_T_FILE && t != FS_T_DIR) {
			say(&c, true, "inode %u: unknown type %u", i, t);
			c.inodes[i].type = FS_T_FREE;
			continue;
		}
		check_inode(&c, i);
	}
	check_bitmaps(&c);
	for (uint32_t i = 1; i < n; i++)
		if (c.inodes[i].type == FS_T_DIR)
			check_dir(&c, i);
	check_tree(&c);
	check_links(&c);
out:
	fprintf(out, "fsck: %u errors; %u files, %u directories, %u of %u blocks used\n",
		res->errors, res->files, res->dirs, res->used_blocks, c.sb.nblocks);
	free(c.blk);
	free(c.overlay);
	free(c.inodes);
	free(c.owner);
	free(c.refs);
	free(c.parent);
	return res->errors;
}
