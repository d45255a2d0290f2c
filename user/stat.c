/* stat: print what the file system knows about each path. */
#include <stdio.h>

#include "px.h"
#include "pxutil.h"

static const char *type_name(unsigned type)
{
	switch (type) {
	case PX_S_DIR: return "directory";
	case PX_S_REG: return "regular file";
	case PX_S_CHR: return "character device";
	case PX_S_FIFO: return "pipe";
	default: return "unknown";
	}
}

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: stat PATH...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct px_stat st;
		long r = px_stat(argv[i], &st);

		if (r < 0) {
			fprintf(stderr, "stat: %s: %s\n", argv[i], errstr(px_errno(-r)));
			status = 1;
			continue;
		}
		printf("%s: %s, %llu bytes, inode %llu, %u link%s, %llu block%s\n", argv[i],
		       type_name(st.type), st.size, st.ino, st.nlink, st.nlink == 1 ? "" : "s",
		       st.blocks, st.blocks == 1 ? "" : "s");
	}
	return status;
}
