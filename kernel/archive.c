/* The embedded program archive: validated once, then looked up by name or index. */
#include <string.h>

#include "kernel/archive.h"
#include "lib/uapi/pollux.h"

/* kernel/archive_blob.S */
extern const unsigned char archive_blob[];
extern const uint64_t archive_blob_size;

static const unsigned char *arc;     /* NULL until a valid archive loads */
static unsigned arc_count;

/* Entry i of a validated archive (the table is 8-byte aligned). */
static const struct archive_rec *rec(unsigned i)
{
	return (const struct archive_rec *)(const void *)
		(arc + sizeof(struct archive_header) + (size_t)i * sizeof(struct archive_rec));
}

static int check(const unsigned char *blob, size_t size)
{
	struct archive_header h;
	struct archive_rec r, o;
	size_t table_end;

	if (blob == NULL || ((uintptr_t)blob & 7) != 0 || size < sizeof(h))
		return -PX_ENOEXEC;
	memcpy(&h, blob, sizeof(h));
	if (memcmp(h.magic, ARCHIVE_MAGIC, sizeof(h.magic)) != 0)
		return -PX_ENOEXEC;
	/* The blob may carry trailing padding, never less than the header says. */
	if (h.size > size || h.count > ARCHIVE_COUNT_MAX)
		return -PX_ENOEXEC;
	table_end = sizeof(h) + (size_t)h.count * sizeof(r); /* no overflow: count is capped */
	if (table_end > h.size)
		return -PX_ENOEXEC;
	for (unsigned i = 0; i < h.count; i++) {
		memcpy(&r, blob + sizeof(h) + (size_t)i * sizeof(r), sizeof(r));
		if (r.name[0] == '\0' || memchr(r.name, '\0', sizeof(r.name)) == NULL)
			return -PX_ENOEXEC;
		if ((r.offset & 7) != 0 || r.offset < table_end || r.offset > h.size ||
		    r.size > h.size - r.offset)
			return -PX_ENOEXEC;
		for (unsigned j = 0; j < i; j++) {
			memcpy(&o, blob + sizeof(h) + (size_t)j * sizeof(o), sizeof(o));
			if (strcmp(o.name, r.name) == 0)
				return -PX_ENOEXEC;
		}
	}
	return (int)h.count;
}

int archive_load(const void *blob, size_t size)
{
	int n = check(blob, size);

	if (n < 0) {
		arc = NULL;
		arc_count = 0;
		return n;
	}
	arc = blob;
	arc_count = (unsigned)n;
	return 0;
}

int archive_init(void)
{
	return archive_load(archive_blob, (size_t)archive_blob_size);
}

unsigned archive_count(void)
{
	return arc_count;
}

int archive_find(const char *name, const void **data, size_t *size)
{
	for (unsigned i = 0; i < arc_count; i++) {
		const struct archive_rec *r = rec(i);

		if (strncmp(r->name, name, ARCHIVE_NAME_MAX) == 0) {
			*data = arc + r->offset;
			*size = (size_t)r->size;
			return 0;
		}
	}
	return -PX_ENOENT;
}

int archive_entry(unsigned index, const char **name, size_t *size)
{
	if (index >= arc_count)
		return -PX_ENOENT;
	*name = rec(index)->name;
	*size = (size_t)rec(index)->size;
	return 0;
}
