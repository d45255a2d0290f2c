/* The program archive embedded in the kernel image: lookup by name and by index. */
#ifndef KERNEL_ARCHIVE_H
#define KERNEL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Format (packed by scripts/mkarchive.py from the programs in build/<arch>/user/,
 * embedded by kernel/archive_blob.S), all integers little-endian:
 *
 *   offset 0   struct archive_header { "PXARCHV1", u32 count, u32 size }
 *   offset 16  struct archive_rec[count] { name[32], u64 offset, u64 size }
 *   data       each file at an 8-byte aligned offset from the archive's
 *              first byte, inside [end of the table, size)
 *
 * Names are 1..31 bytes, NUL-terminated and NUL-padded, unique.
 * archive_init validates all of it once; after that the lookups trust it.
 */
#define ARCHIVE_MAGIC    "PXARCHV1"
#define ARCHIVE_NAME_MAX 32     /* bytes of a name field, NUL included */
#define ARCHIVE_COUNT_MAX 256

struct archive_header {
	char magic[8];
	uint32_t count;
	uint32_t size;          /* bytes of the whole archive */
};

struct archive_rec {
	char name[ARCHIVE_NAME_MAX];
	uint64_t offset;
	uint64_t size;
};

/* Validate the embedded archive and make it the one the lookups use.
 * 0, or -PX_ENOEXEC for a corrupt archive (the lookups then find nothing). */
int archive_init(void);

/* The same for any blob (host tests); blob must be 8-byte aligned and
 * stay valid.  On failure the previous archive is dropped. */
int archive_load(const void *blob, size_t size);

/* Find program `name`: 0 with *data (8-byte aligned) and *size set, or
 * -PX_ENOENT. */
int archive_find(const char *name, const void **data, size_t *size);

/* The index-th entry, for listing (SYS_progs): 0 with *name (NUL-terminated,
 * in the archive) and *size set, or -PX_ENOENT past the last one. */
int archive_entry(unsigned index, const char **name, size_t *size);

/* Number of programs (0 before a successful init). */
unsigned archive_count(void);

#endif /* KERNEL_ARCHIVE_H */
