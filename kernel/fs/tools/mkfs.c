/* mkfs: make a Pollux file-system image holding /bin (the given programs) and samples under /home. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fs/fs_format.h"

/*
 * usage: mkfs [-s SIZE] [-i INODES] [-l LOGBLOCKS] IMAGE [PROGRAM.elf ...]
 *
 * SIZE in bytes, or with a K/M/G suffix (default 128M).  Each PROGRAM goes
 * to /bin under its file name without ".elf".  The image is written with
 * pwrite into a sparse file: only metadata and file contents are written.
 * The layout is the one docs/fs.md describes, checked with the kernel's
 * own fs_super_invalid before anything is written.
 */

static int img_fd;
static struct fs_super sb;
static uint8_t *ibitmap, *bbitmap;   /* whole bitmaps in memory */
static struct fs_dinode *itable;     /* whole inode table in memory */
static uint32_t next_block, next_inum = FS_ROOT_INUM;

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "mkfs: %s\n", what);
	exit(1);
}

static void put_block(uint32_t b, const void *data)
{
	if (pwrite(img_fd, data, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) != FS_BLOCK_SIZE) {
		perror("mkfs: write");
		exit(1);
	}
}

static uint32_t balloc(void)
{
	if (next_block >= sb.nblocks)
		die("image full");
	uint32_t b = next_block++;
	bbitmap[b / 8] |= (uint8_t)(1u << (b % 8));
	return b;
}

static uint32_t ialloc(uint16_t type)
{
	if (next_inum >= sb.ninodes)
		die("out of inodes");
	uint32_t i = next_inum++;
	ibitmap[i / 8] |= (uint8_t)(1u << (i % 8));
	itable[i].type = type;
	return i;
}

/* The block holding file block n of inode ip, allocated (zeroed on the
 * disk by the caller's write). */
static uint32_t bmap(struct fs_dinode *ip, uint64_t n)
{
	static uint32_t ind[FS_NINDIRECT];
	if (n < FS_NDIRECT) {
		ip->direct[n] = balloc();
		ip->blocks++;
		return ip->direct[n];
	}
	n -= FS_NDIRECT;
	uint32_t indb;
	if (n < FS_NINDIRECT) {
		if (!ip->indirect) {
			ip->indirect = balloc();
			ip->blocks++;
			memset(ind, 0, sizeof(ind));
			put_block(ip->indirect, ind);
		}
		indb = ip->indirect;
	} else {
		n -= FS_NINDIRECT;
		if (n >= (uint64_t)FS_NINDIRECT * FS_NINDIRECT)
			die("file too big");
		if (!ip->dindirect) {
			ip->dindirect = balloc();
			ip->blocks++;
			memset(ind, 0, sizeof(ind));
			put_block(ip->dindirect, ind);
		}
		if (pread(img_fd, ind, FS_BLOCK_SIZE, (off_t)ip->dindirect * FS_BLOCK_SIZE) != FS_BLOCK_SIZE)
			die("read back");
		uint32_t slot = (uint32_t)(n / FS_NINDIRECT);
		if (!ind[slot]) {
			static const uint32_t zero[FS_NINDIRECT];
			ind[slot] = balloc();
			ip->blocks++;
			put_block(ip->dindirect, ind);
			put_block(ind[slot], zero);
		}
		indb = ind[slot];
		n %= FS_NINDIRECT;
	}
	if (pread(img_fd, ind, FS_BLOCK_SIZE, (off_t)indb * FS_BLOCK_SIZE) != FS_BLOCK_SIZE)
		die("read back");
	ind[n] = balloc();
	ip->blocks++;
	put_block(indb, ind);
	return ind[n];
}

static void write_file(uint32_t inum, const void *data, uint64_t len)
{
	struct fs_dinode *ip = &itable[inum];
	uint8_t blk[FS_BLOCK_SIZE];
	for (uint64_t off = 0; off < len; off += FS_BLOCK_SIZE) {
		uint64_t k = len - off < FS_BLOCK_SIZE ? len - off : FS_BLOCK_SIZE;
		memset(blk, 0, sizeof(blk));
		memcpy(blk, (const uint8_t *)data + off, k);
		put_block(bmap(ip, off / FS_BLOCK_SIZE), blk);
	}
	ip->size = len;
}

/* Directories are built in memory and written at the end (direct blocks
 * only: mkfs makes small ones). */
#define MKFS_DIR_MAX (FS_NDIRECT * FS_DIRENTS_PER_BLOCK)
struct mdir {
	uint32_t inum;
	uint32_t n;
	struct fs_dirent e[MKFS_DIR_MAX];
};

static void dir_add(struct mdir *d, const char *name, uint32_t inum)
{
	size_t len = strlen(name);
	if (d->n >= MKFS_DIR_MAX || len == 0 || len > FS_NAME_MAX || strchr(name, '/'))
		die("bad directory entry");
	for (uint32_t i = 0; i < d->n; i++)
		if (d->e[i].name_len == len && memcmp(d->e[i].name, name, len) == 0) {
			fprintf(stderr, "mkfs: duplicate name %s\n", name);
			exit(1);
		}
	struct fs_dirent *e = &d->e[d->n++];
	memset(e, 0, sizeof(*e));
	e->inum = inum;
	e->type = (uint8_t)itable[inum].type;
	e->name_len = (uint8_t)len;
	memcpy(e->name, name, len);
	itable[inum].nlink++;
}

static struct mdir *dir_new(struct mdir *parent)
{
	struct mdir *d = calloc(1, sizeof(*d));
	if (!d)
		die("out of memory");
	d->inum = ialloc(FS_T_DIR);
	dir_add(d, ".", d->inum);
	dir_add(d, "..", parent ? parent->inum : d->inum);
	return d;
}

static void dir_write(struct mdir *d)
{
	uint32_t nblk = (d->n + FS_DIRENTS_PER_BLOCK - 1) / FS_DIRENTS_PER_BLOCK;
	write_file(d->inum, d->e, (uint64_t)nblk * FS_BLOCK_SIZE);
	free(d);
}

static void add_file(struct mdir *d, const char *name, const void *data, uint64_t len)
{
	uint32_t inum = ialloc(FS_T_FILE);
	write_file(inum, data, len);
	dir_add(d, name, inum);
}

static void add_host_file(struct mdir *d, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "mkfs: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len))
		die("cannot read a program");
	fclose(f);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char name[FS_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", base);
	char *dot = strstr(name, ".elf");
	if (dot && dot[4] == 0)
		*dot = 0;
	add_file(d, name, buf, (uint64_t)len);
	free(buf);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		die("bad size");
	return v;
}

static const char readme[] =
	"Welcome to Pollux.\n"
	"\n"
	"This file lives on the disk image (build/<arch>/fs.img), in a file system\n"
	"whose format is described in docs/fs.md.  What you write here survives a\n"
	"reboot; `make fs-reset` makes a fresh image.\n";

static const char poem[] =
	"Castor and Pollux, the twins of the sky:\n"
	"one was mortal, one could not die.\n";

int main(int argc, char **argv)
{
	uint64_t size = 128ull << 20;
	uint64_t ninodes = 0, logblocks = 0;
	int opt;
	while ((opt = getopt(argc, argv, "s:i:l:")) != -1) {
		switch (opt) {
		case 's': size = parse_size(optarg); break;
		case 'i': ninodes = parse_size(optarg); break;
		case 'l': logblocks = parse_size(optarg); break;
		default:
			fprintf(stderr, "usage: mkfs [-s SIZE] [-i INODES] [-l LOGBLOCKS] IMAGE [PROGRAM.elf ...]\n");
			return 2;
		}
	}
	if (optind >= argc)
		die("no image named (usage: mkfs [-s SIZE] IMAGE [PROGRAM.elf ...])");
	uint64_t nblocks = size / FS_BLOCK_SIZE;
	if (nblocks < 64 || nblocks > 0xffffffffu)
		die("size must be between 256 KiB and 16 TiB");
	if (!ninodes)
		ninodes = nblocks / 4 < 256 ? 256 : nblocks / 4;
	ninodes = (ninodes + FS_INODES_PER_BLOCK - 1) / FS_INODES_PER_BLOCK * FS_INODES_PER_BLOCK;
	if (!logblocks)
		logblocks = nblocks >= 16384 ? 257 : (nblocks / 8 < 33 ? 33 : nblocks / 8);
	if (logblocks > FS_LOG_MAX + 1)
		logblocks = FS_LOG_MAX + 1;

	sb.magic = FS_MAGIC;
	sb.version = FS_VERSION;
	sb.block_size = FS_BLOCK_SIZE;
	sb.nblocks = (uint32_t)nblocks;
	sb.ninodes = (uint32_t)ninodes;
	sb.log_start = 1;
	sb.log_blocks = (uint32_t)logblocks;
	sb.ibitmap_start = sb.log_start + sb.log_blocks;
	sb.ibitmap_blocks = (uint32_t)((ninodes + FS_BLOCK_SIZE * 8 - 1) / (FS_BLOCK_SIZE * 8));
	sb.bbitmap_start = sb.ibitmap_start + sb.ibitmap_blocks;
	sb.bbitmap_blocks = (uint32_t)((nblocks + FS_BLOCK_SIZE * 8 - 1) / (FS_BLOCK_SIZE * 8));
	sb.inode_start = sb.bbitmap_start + sb.bbitmap_blocks;
	sb.inode_blocks = (uint32_t)(ninodes / FS_INODES_PER_BLOCK);
	sb.data_start = sb.inode_start + sb.inode_blocks;
	sb.root_inum = FS_ROOT_INUM;
	sb.crc = fs_super_crc(&sb);
	const char *why = fs_super_invalid(&sb);
	if (why || sb.data_start + 16 > sb.nblocks) {
		fprintf(stderr, "mkfs: cannot lay out %llu blocks: %s\n", (unsigned long long)nblocks,
			why ? why : "no room for data");
		return 1;
	}

	img_fd = open(argv[optind], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (img_fd < 0 || ftruncate(img_fd, (off_t)(nblocks * FS_BLOCK_SIZE)) != 0) {
		perror("mkfs: image");
		return 1;
	}
	ibitmap = calloc(sb.ibitmap_blocks, FS_BLOCK_SIZE);
	bbitmap = calloc(sb.bbitmap_blocks, FS_BLOCK_SIZE);
	itable = calloc(sb.inode_blocks, FS_BLOCK_SIZE);
	if (!ibitmap || !bbitmap || !itable)
		die("out of memory");
	ibitmap[0] |= 1;                     /* inode 0 is never used */
	for (uint32_t b = 0; b < sb.data_start; b++)
		bbitmap[b / 8] |= (uint8_t)(1u << (b % 8));
	next_block = sb.data_start;

	struct mdir *root = dir_new(NULL);
	struct mdir *bin = dir_new(root);
	struct mdir *home = dir_new(root);
	dir_add(root, "bin", bin->inum);
	dir_add(root, "home", home->inum);
	for (int i = optind + 1; i < argc; i++)
		add_host_file(bin, argv[i]);
	add_file(home, "readme.txt", readme, sizeof(readme) - 1);
	struct mdir *notes = dir_new(home);
	dir_add(home, "notes", notes->inum);
	add_file(notes, "poem.txt", poem, sizeof(poem) - 1);
	dir_write(notes);
	dir_write(home);
	dir_write(bin);
	dir_write(root);

	uint8_t blk[FS_BLOCK_SIZE];
	memset(blk, 0, sizeof(blk));
	memcpy(blk, &sb, sizeof(sb));
	put_block(0, blk);
	memset(blk, 0, sizeof(blk));
	struct fs_log_header *lh = (struct fs_log_header *)(void *)blk;
	lh->magic = FS_LOG_MAGIC;
	lh->crc = fs_log_crc(lh, 0);
	put_block(sb.log_start, blk);
	for (uint32_t i = 0; i < sb.ibitmap_blocks; i++)
		put_block(sb.ibitmap_start + i, ibitmap + (size_t)i * FS_BLOCK_SIZE);
	for (uint32_t i = 0; i < sb.bbitmap_blocks; i++)
		put_block(sb.bbitmap_start + i, bbitmap + (size_t)i * FS_BLOCK_SIZE);
	for (uint32_t i = 0; i < sb.inode_blocks; i++)
		put_block(sb.inode_start + i, (uint8_t *)itable + (size_t)i * FS_BLOCK_SIZE);
	if (fsync(img_fd) != 0 || close(img_fd) != 0) {
		perror("mkfs: image");
		return 1;
	}
	printf("mkfs: %s: %u blocks of 4 KiB (%llu MiB), %u inodes, log %u blocks, "
	       "%d programs in /bin, %u blocks used\n",
	       argv[optind], sb.nblocks, (unsigned long long)(nblocks >> 8), sb.ninodes,
	       sb.log_blocks, argc - optind - 1, next_block);
	return 0;
}
