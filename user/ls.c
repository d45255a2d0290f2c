/* ls: list directories (name, type, size; -l adds the link count), or the archive without a disk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "pxutil.h"

/*
 *   ls [-l] [PATH...]     default PATH: the working directory
 *
 * One line per entry, in directory order:
 *
 *   name              dir      4096        (ls)
 *   d   2     4096 name                    (ls -l: type, links, size)
 *
 * A PATH that is a file lists itself.  Without a file system (the kernel
 * runs from its archive) ls with no PATH lists the archive's programs.
 */

static int long_format;

static const char *type_name(unsigned type)
{
	switch (type) {
	case PX_S_DIR: return "dir";
	case PX_S_REG: return "file";
	case PX_S_CHR: return "dev";
	case PX_S_FIFO: return "fifo";
	default: return "?";
	}
}

static void show(const char *name, const struct px_stat *st)
{
	if (long_format)
		printf("%c %3u %10llu %s\n", st->type == PX_S_DIR ? 'd' : '-', st->nlink,
		       st->size, name);
	else
		printf("%-24s %-4s %10llu\n", name, type_name(st->type), st->size);
}

static int list_archive(void)
{
	char name[PX_PATH_MAX];

	for (unsigned i = 0;; i++) {
		long size = progs(i, name, sizeof(name));

		if (size < 0)
			return errno == ENOENT ? 0 : 1;
		printf("%-24s %-4s %10ld\n", name, "prog", size);
	}
}

/* List path; 0, or 1 after an error (printed). */
static int list(const char *path, int many)
{
	struct px_stat st;
	long r = px_stat(path, &st);

	if (r < 0) {
		fprintf(stderr, "ls: %s: %s\n", path, errstr(px_errno(-r)));
		return 1;
	}
	if (st.type != PX_S_DIR) {
		show(path, &st);
		return 0;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		fprintf(stderr, "ls: %s: %s\n", path, errstr(errno));
		return 1;
	}
	if (many)
		printf("%s:\n", path);
	static struct px_dirent ents[16];
	int status = 0;
	for (;;) {
		long n = px_getdents(fd, ents, sizeof(ents));
		if (n < 0) {
			fprintf(stderr, "ls: %s: %s\n", path, errstr(px_errno(-n)));
			status = 1;
			break;
		}
		if (n == 0)
			break;
		for (long i = 0; i < n / (long)sizeof(ents[0]); i++) {
			char full[PX_FS_PATH_MAX];
			struct px_stat est;

			if (path_join(full, sizeof(full), path, ents[i].name) < 0) {
				fprintf(stderr, "ls: %s/%s: %s\n", path, ents[i].name, errstr(errno));
				status = 1;
				continue;
			}
			long s = px_stat(full, &est);
			if (s < 0) {
				/* removed meanwhile: say what the entry said */
				fprintf(stderr, "ls: %s: %s\n", full, errstr(px_errno(-s)));
				status = 1;
				continue;
			}
			show(ents[i].name, &est);
		}
	}
	close(fd);
	return status;
}

int main(int argc, char **argv)
{
	int i = 1, status = 0;

	if (i < argc && strcmp(argv[i], "-l") == 0) {
		long_format = 1;
		i++;
	}
	if (i < argc && argv[i][0] == '-') {
		fprintf(stderr, "usage: ls [-l] [PATH...]\n");
		return 2;
	}
	if (i == argc) {
		struct px_statfs fs;
		if (px_statfs(&fs) == -PX_ENODEV)
			return list_archive();
		return list(".", 0);
	}
	for (int first = i; i < argc; i++) {
		if (i > first && argc - first > 1)
			putchar('\n');
		status |= list(argv[i], argc - first > 1);
	}
	return status;
}
