/* mv: rename a file or directory, or move files into a directory. */
#include <errno.h>
#include <stdio.h>

#include "px.h"
#include "pxutil.h"

/*
 *   mv SRC DST        rename SRC to DST (replacing a file DST); if DST is
 *                     a directory, SRC moves into it
 *   mv SRC... DIR     move each SRC into DIR
 *
 * Each move is one rename: atomic, also across directories.
 */

static int is_dir(const char *path)
{
	struct px_stat st;

	return px_stat(path, &st) == 0 && st.type == PX_S_DIR;
}

static int move(const char *src, const char *dst, int into)
{
	char target[PX_FS_PATH_MAX], base[PX_NAME_MAX + 1];

	if (into) {
		path_base(base, sizeof(base), src);
		if (path_join(target, sizeof(target), dst, base) < 0) {
			fprintf(stderr, "mv: %s/%s: %s\n", dst, base, errstr(errno));
			return 1;
		}
		dst = target;
	}
	if (rename(src, dst) < 0) {
		int e = errno;
		struct px_stat st;
		/* Name the side that is wrong. */
		if (e == ENOENT && px_stat(src, &st) < 0)
			fprintf(stderr, "mv: %s: %s\n", src, errstr(e));
		else
			fprintf(stderr, "mv: %s -> %s: %s\n", src, dst, errstr(e));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mv SRC DST  or  mv SRC... DIR\n");
		return 2;
	}
	const char *dst = argv[argc - 1];
	int into = is_dir(dst), status = 0;
	if (argc > 3 && !into) {
		fprintf(stderr, "mv: %s: not a directory\n", dst);
		return 1;
	}
	for (int i = 1; i < argc - 1; i++)
		status |= move(argv[i], dst, into);
	return status;
}
