/* The file system's on-disk format: the one definition shared by the kernel, mkfs and fsck. */
#ifndef KERNEL_FS_FS_FORMAT_H
#define KERNEL_FS_FS_FORMAT_H

#include <stdint.h>

/*
 * docs/fs.md explains the format; this header is its source of truth.
 *
 *   block 0                 superblock (struct fs_super, the rest zero)
 *   [log_start, +log_blocks)        write-ahead log: one header block
 *                                   (struct fs_log_header), then data blocks
 *   [ibitmap_start, +ibitmap_blocks) inode bitmap: bit i = inode i in use
 *   [bbitmap_start, +bbitmap_blocks) block bitmap: bit b = block b in use
 *   [inode_start, +inode_blocks)    inode table, FS_INODES_PER_BLOCK a block
 *   [data_start, nblocks)           data: file contents, directories,
 *                                   indirect blocks
 *
 * Every field is fixed-width and little-endian.  Every machine that reads
 * or writes an image (riscv64, aarch64, the x86-64 or arm64 host) is
 * little-endian, so the structures are used in place; the assertion below
 * stops a big-endian build rather than let it write a wrong image.
 * Bit b of a bitmap is bit (b % 8) of byte (b / 8) of the bitmap.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the on-disk format is little-endian and used in place");

#define FS_BLOCK_SIZE   4096u
#define FS_MAGIC        0x58554c50u /* "PLUX" */
#define FS_VERSION      2u
#define FS_ROOT_INUM    1u          /* inode 0 is never used: 0 means "none" */

/* ---- superblock (block 0) -----------------------------------------------*/
struct fs_super {
	uint32_t magic;          /* FS_MAGIC */
	uint32_t version;        /* FS_VERSION */
	uint32_t block_size;     /* FS_BLOCK_SIZE */
	uint32_t nblocks;        /* blocks on the disk */
	uint32_t ninodes;        /* inodes, 0 included */
	uint32_t log_start;      /* the log's header block */
	uint32_t log_blocks;     /* header + data blocks */
	uint32_t ibitmap_start;
	uint32_t ibitmap_blocks;
	uint32_t bbitmap_start;
	uint32_t bbitmap_blocks;
	uint32_t inode_start;
	uint32_t inode_blocks;
	uint32_t data_start;     /* first data block */
	uint32_t root_inum;      /* FS_ROOT_INUM */
	uint32_t orphan_head;    /* first inode of the orphan list; 0: empty */
	uint32_t reserved[15];   /* zero */
	uint32_t crc;            /* fs_crc32 of the 124 bytes above */
};
_Static_assert(sizeof(struct fs_super) == 128, "fs_super is 128 bytes");

/* ---- inodes ----------------------------------------------------------------*/
#define FS_T_FREE 0u
#define FS_T_FILE 1u
#define FS_T_DIR  2u

#define FS_NDIRECT        12u
#define FS_NINDIRECT      (FS_BLOCK_SIZE / 4u)                 /* 1024 */
#define FS_MAX_FILE_BLOCKS \
	((uint64_t)FS_NDIRECT + FS_NINDIRECT + (uint64_t)FS_NINDIRECT * FS_NINDIRECT)
#define FS_MAX_FILE_SIZE  (FS_MAX_FILE_BLOCKS * FS_BLOCK_SIZE) /* 4 GiB + 4 MiB + 48 KiB */
/* A directory uses its direct and single-indirect blocks only. */
#define FS_DIR_MAX_BLOCKS (FS_NDIRECT + FS_NINDIRECT)

struct fs_dinode {
	uint16_t type;           /* FS_T_* */
	uint16_t nlink;          /* directory entries naming it (a directory:
	                            its entry in the parent, its own ".", and
	                            each subdirectory's "..") */
	uint32_t blocks;         /* blocks it owns: data and indirect */
	uint64_t size;           /* bytes; a directory: a multiple of the block size */
	uint32_t direct[FS_NDIRECT];
	uint32_t indirect;       /* block of FS_NINDIRECT block numbers */
	uint32_t dindirect;      /* block of FS_NINDIRECT indirect blocks */
	uint32_t next_orphan;    /* on the orphan list: the next inode, 0 at the end */
	uint32_t reserved[13];   /* zero */
};
_Static_assert(sizeof(struct fs_dinode) == 128, "fs_dinode is 128 bytes");
#define FS_INODES_PER_BLOCK (FS_BLOCK_SIZE / sizeof(struct fs_dinode)) /* 32 */

/* Block numbers: 0 means "none" (a hole in a file, no indirect block);
 * otherwise a block in [data_start, nblocks). */

/* ---- directories -----------------------------------------------------------*/
#define FS_NAME_MAX 120u         /* bytes in a name, no NUL on disk */

struct fs_dirent {
	uint32_t inum;           /* 0: a free slot */
	uint8_t type;            /* the inode's type, FS_T_FILE or FS_T_DIR */
	uint8_t name_len;        /* 1..FS_NAME_MAX */
	uint16_t reserved;       /* zero */
	char name[FS_NAME_MAX];  /* no '/' and no NUL; the rest zero */
};
_Static_assert(sizeof(struct fs_dirent) == 128, "fs_dirent is 128 bytes");
#define FS_DIRENTS_PER_BLOCK (FS_BLOCK_SIZE / sizeof(struct fs_dirent)) /* 32 */

/* A directory's first block begins with "." (itself) and ".." (its
 * parent; the root's is itself).  A directory is never empty of blocks. */

/* ---- the log ----------------------------------------------------------------*/
#define FS_LOG_MAGIC 0x474f4c50u /* "PLOG" */
#define FS_LOG_MAX   1000u       /* data blocks one transaction may carry */

/*
 * A header block of the log (there are two: fs_log_header_block).
 * count == 0: no transaction to replay.
 * count > 0: committed transactions whose i-th block (data block
 * log_start + 1 + i) belongs at blocks[i], replayed in order (a block
 * named twice: the later copy wins).  crc covers blocks[0..count) and the
 * fields before crc; a header whose magic or crc is wrong was never
 * completely written, and the other header block is the log (see
 * docs/fs.md for why that is safe).
 */
struct fs_log_header {
	uint32_t magic;          /* FS_LOG_MAGIC */
	uint32_t count;
	uint64_t seq;            /* transaction number */
	uint32_t crc;            /* fs_crc32(blocks[0..count)) then magic, count, seq */
	uint32_t reserved;       /* zero */
	uint32_t blocks[FS_LOG_MAX];
};
_Static_assert(sizeof(struct fs_log_header) <= FS_BLOCK_SIZE, "log header fits a block");

/* ---- checksums ----------------------------------------------------------------*/

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32), nibble-table version:
 * used only on the superblock and the log header. */
static inline uint32_t fs_crc32_update(uint32_t crc, const void *p, uint32_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const uint8_t *b = p;
	crc = ~crc;
	for (uint32_t i = 0; i < n; i++) {
		crc ^= b[i];
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return ~crc;
}

static inline uint32_t fs_super_crc(const struct fs_super *s)
{
	return fs_crc32_update(0, s, (uint32_t)(sizeof(*s) - sizeof(s->crc)));
}

/* The log header's crc: blocks[0..count) first, then the 16 bytes of
 * magic, count and seq.  Blocks first, so that a log that grows by
 * appending extends the crc of the entries it already has (fs_log.c
 * keeps it) instead of recomputing it over every entry at each commit. */
static inline uint32_t fs_log_crc_fields(uint32_t blocks_crc, const struct fs_log_header *h)
{
	return fs_crc32_update(blocks_crc, h, 16);
}

static inline uint32_t fs_log_crc(const struct fs_log_header *h, uint32_t count)
{
	return fs_log_crc_fields(fs_crc32_update(0, h->blocks, count * 4u), h);
}

/* The log region holds two header blocks, its first (log_start) and its
 * last, written in turn: a header write that is cut short leaves the one
 * before it intact.  The valid header with the higher seq is the log.
 * Data slot i is block log_start + 1 + i, i < fs_log_slots. */
static inline uint32_t fs_log_header_block(const struct fs_super *s, unsigned which)
{
	return which ? s->log_start + s->log_blocks - 1 : s->log_start;
}

static inline uint32_t fs_log_slots(const struct fs_super *s)
{
	return s->log_blocks - 2;
}

/* Complete (magic, a count that fits, crc): a header to believe. */
static inline int fs_log_header_ok(const struct fs_log_header *h, const struct fs_super *s)
{
	return h->magic == FS_LOG_MAGIC && h->count <= FS_LOG_MAX && h->count <= fs_log_slots(s) &&
	       h->crc == fs_log_crc(h, h->count);
}


/* ---- superblock checks (mount, fsck and mkfs share them) -------------------*/

/* NULL if *s describes a layout this code can use, else why not.  Checks
 * every region lies inside the disk, in order, without overlap, and is
 * big enough for what it must hold. */
static inline const char *fs_super_invalid(const struct fs_super *s)
{
	if (s->magic != FS_MAGIC)
		return "bad magic (not a Pollux file system)";
	if (s->crc != fs_super_crc(s))
		return "superblock checksum mismatch";
	if (s->version != FS_VERSION)
		return "made for another version of the format (make fs-reset makes a new image)";
	if (s->block_size != FS_BLOCK_SIZE)
		return "unsupported block size";
	if (s->nblocks < 16)
		return "disk too small";
	if (s->ninodes < 2 || s->ninodes % FS_INODES_PER_BLOCK != 0)
		return "inode count not a positive multiple of 32";
	if (s->log_start != 1 || s->log_blocks < 3 || s->log_blocks > FS_LOG_MAX + 1)
		return "log region out of range";
	uint64_t at = (uint64_t)s->log_start + s->log_blocks;
	if (s->ibitmap_start != at ||
	    (uint64_t)s->ibitmap_blocks * FS_BLOCK_SIZE * 8 < s->ninodes)
		return "inode bitmap region wrong";
	at += s->ibitmap_blocks;
	if (s->bbitmap_start != at ||
	    (uint64_t)s->bbitmap_blocks * FS_BLOCK_SIZE * 8 < s->nblocks)
		return "block bitmap region wrong";
	at += s->bbitmap_blocks;
	if (s->inode_start != at ||
	    (uint64_t)s->inode_blocks * FS_INODES_PER_BLOCK != s->ninodes)
		return "inode table region wrong";
	at += s->inode_blocks;
	if (s->data_start != at || at >= s->nblocks)
		return "data region wrong";
	if (s->root_inum != FS_ROOT_INUM)
		return "root inode is not 1";
	if (s->orphan_head >= s->ninodes)
		return "orphan list head out of range";
	return 0;
}

#endif /* KERNEL_FS_FS_FORMAT_H */
