/* rm: remove files; -r removes directories and everything in them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "pxutil.h"

static int recursive;

static int remove_path(const char *path);

/* Remove everything inside directory path, then path itself. */
static int remove_dir(const char *path)
{
	struct px_dirent ents[8];      /* on the stack: each level its own */
	int status = 0;

	/* Each pass lists from the start: entries removed during a pass
	 * leave free slots behind, and getdents skips those. */
	for (;;) {
		int fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd < 0) {
			fprintf(stderr, "rm: %s: %s\n", path, errstr(errno));
			return 1;
		}
		long n = px_getdents(fd, ents, sizeof(ents));
		close(fd);
		if (n < 0) {
			fprintf(stderr, "rm: %s: %s\n", path, errstr(px_errno(-n)));
			return 1;
		}
		int removed = 0, seen = 0;
		for (long i = 0; i < n / (long)sizeof(ents[0]); i++) {
			char full[PX_FS_PATH_MAX];

			if (strcmp(ents[i].name, ".") == 0 || strcmp(ents[i].name, "..") == 0)
				continue;
			seen++;
			if (path_join(full, sizeof(full), path, ents[i].name) < 0) {
				fprintf(stderr, "rm: %s/%s: %s\n", path, ents[i].name, errstr(errno));
				return 1;
			}
			if (remove_path(full) == 0)
				removed++;
			else
				status = 1;
		}
		if (seen == 0 && n < (long)sizeof(ents))
			break;          /* the directory is empty */
		if (removed == 0)
			return 1;       /* stuck: every entry failed (said why) */
	}
	if (status == 0 && rmdir(path) < 0) {
		fprintf(stderr, "rm: %s: %s\n", path, errstr(errno));
		return 1;
	}
	return status;
}

static int remove_path(const char *path)
{
	struct px_stat st;
	long r = px_stat(path, &st);

	if (r < 0) {
		fprintf(stderr, "rm: %s: %s\n", path, errstr(px_errno(-r)));
		return 1;
	}
	if (st.type == PX_S_DIR) {
		if (!recursive) {
			fprintf(stderr, "rm: %s: is a directory (rm -r removes it)\n", path);
			return 1;
		}
		return remove_dir(path);
	}
	if (unlink(path) < 0) {
		fprintf(stderr, "rm: %s: %s\n", path, errstr(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, status = 0;

	if (i < argc && strcmp(argv[i], "-r") == 0) {
		recursive = 1;
		i++;
	}
	if (i == argc || argv[i][0] == '-') {
		fprintf(stderr, "usage: rm [-r] PATH...\n");
		return 2;
	}
	for (; i < argc; i++)
		status |= remove_path(argv[i]);
	return status;
}
