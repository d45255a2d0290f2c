/* cp: copy a file with several reads and writes in flight on the ring (-s: one read/write loop). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_ring.h"
#include "pxutil.h"

/*
 *   cp [-s | -j N] SRC DST     DST a directory: DST/basename(SRC)
 *
 * The async copy cuts SRC into CHUNK-byte pieces and keeps up to SLOTS
 * of them moving at once on the ring: each slot reads its piece at the
 * piece's offset (a READ with an offset, like pread), then writes it at
 * the same offset of DST, then takes the next piece.  So while one
 * piece is being written, others are being read: the disk always has
 * work queued, and the program makes one ring_enter per batch of
 * completions instead of two syscalls per piece.  A short read or write
 * goes round again for the rest of its piece.  A CHUNK of 8 blocks is
 * one transaction of the file system's log (docs/fs.md, "Big writes").
 *
 * -j N keeps N pieces moving (1..SLOTS; default SLOTS).
 * -s copies with read() and write() of CHUNK bytes, one after the other:
 * the comparison `make bench` draws.  Sources that cannot seek (a pipe,
 * the console) are always copied that way.
 */
#define CHUNK (32 * 1024)
#define SLOTS 16

enum { IDLE, READING, WRITING };

static struct slot {
	int state;
	unsigned long long off;         /* where the piece starts in both files */
	unsigned len;                   /* bytes in the piece */
	unsigned done;                  /* bytes of this step done so far */
} slots[SLOTS];

static char bufs[SLOTS][CHUNK];
static int nslots = SLOTS;
static const char *src_name, *dst_name;

static void queue(struct px_ring *r, int i, unsigned op, int fd)
{
	struct slot *s = &slots[i];
	struct px_sqe *sqe = px_ring_get_sqe(r);

	/* SLOTS <= the ring's entries: there is always a free SQE. */
	px_sqe_prep(sqe, op, fd, s->off + s->done, (uint64_t)(uintptr_t)(bufs[i] + s->done),
		    s->len - s->done, (uint64_t)i);
}

static int copy_ring(int in, int out, unsigned long long size)
{
	struct px_ring r;
	long err = px_ring_init(&r, 2 * SLOTS);
	unsigned long long next = 0;
	int busy = 0;

	if (err < 0) {
		fprintf(stderr, "cp: ring: %s\n", errstr(px_errno(-err)));
		return 1;
	}
	for (;;) {
		for (int i = 0; i < nslots && next < size; i++) {
			if (slots[i].state != IDLE)
				continue;
			unsigned long long left = size - next;
			slots[i] = (struct slot){ READING, next, left < CHUNK ? (unsigned)left : CHUNK, 0 };
			next += slots[i].len;
			queue(&r, i, PX_OP_READ, in);
			busy++;
		}
		if (busy == 0)
			return 0;
		long n = px_ring_submit(&r, 1, PX_RING_FOREVER);
		if (n < 0 && n != -PX_EBUSY && n != -PX_EINTR) {
			fprintf(stderr, "cp: ring_enter: %s\n", errstr(px_errno(-n)));
			return 1;
		}
		struct px_cqe *c;
		while ((c = px_ring_peek_cqe(&r)) != NULL) {
			int i = (int)c->user_data;
			long long res = c->res;
			struct slot *s = &slots[i];

			px_ring_cq_advance(&r, 1);
			if (res < 0) {
				fprintf(stderr, "cp: %s: %s\n", s->state == READING ? src_name : dst_name,
					errstr(px_errno(-res)));
				return 1;
			}
			if (res == 0 && s->state == READING) {
				/* SRC got shorter while we copied: copy what there was. */
				s->len = s->done;
				size = s->off + s->len;
			} else if (res == 0) {
				fprintf(stderr, "cp: %s: write made no progress\n", dst_name);
				return 1;
			}
			s->done += (unsigned)res;
			if (s->done < s->len) {
				queue(&r, i, s->state == READING ? PX_OP_READ : PX_OP_WRITE,
				      s->state == READING ? in : out);
			} else if (s->state == READING && s->len > 0) {
				s->state = WRITING;
				s->done = 0;
				queue(&r, i, PX_OP_WRITE, out);
			} else {
				s->state = IDLE;
				busy--;
			}
		}
	}
}

static int copy_plain(int in, int out)
{
	for (;;) {
		ssize_t n = read(in, bufs[0], CHUNK);
		if (n == 0)
			return 0;
		if (n < 0) {
			fprintf(stderr, "cp: %s: %s\n", src_name, errstr(errno));
			return 1;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, bufs[0] + done, (size_t)(n - done));
			if (w <= 0) {
				fprintf(stderr, "cp: %s: %s\n", dst_name, w < 0 ? errstr(errno) : "no progress");
				return 1;
			}
			done += w;
		}
	}
}

int main(int argc, char **argv)
{
	int i = 1, plain = 0;
	char target[PX_FS_PATH_MAX], base[PX_NAME_MAX + 1];
	struct px_stat st, dst_st;

	if (i < argc && strcmp(argv[i], "-s") == 0) {
		plain = 1;
		i++;
	} else if (i + 1 < argc && strcmp(argv[i], "-j") == 0) {
		nslots = atoi(argv[i + 1]);
		i += 2;
	}
	if (argc - i != 2 || argv[i][0] == '-' || nslots < 1 || nslots > SLOTS) {
		fprintf(stderr, "usage: cp [-s | -j N] SRC DST  (-s: a plain read/write loop; "
			"-j: N reads and writes in flight, 1..%d)\n", SLOTS);
		return 2;
	}
	src_name = argv[i];
	dst_name = argv[i + 1];
	int in = open(src_name, O_RDONLY);
	if (in < 0) {
		fprintf(stderr, "cp: %s: %s\n", src_name, errstr(errno));
		return 1;
	}
	long r = px_fstat(in, &st);
	if (r < 0 || st.type == PX_S_DIR) {
		fprintf(stderr, "cp: %s: %s\n", src_name, r < 0 ? errstr(px_errno(-r)) : "is a directory");
		return 1;
	}
	if (px_stat(dst_name, &dst_st) == 0 && dst_st.type == PX_S_DIR) {
		path_base(base, sizeof(base), src_name);
		if (path_join(target, sizeof(target), dst_name, base) < 0) {
			fprintf(stderr, "cp: %s/%s: %s\n", dst_name, base, errstr(errno));
			return 1;
		}
		dst_name = target;
	}
	if (px_stat(dst_name, &dst_st) == 0 && dst_st.ino == st.ino) {
		fprintf(stderr, "cp: %s and %s are the same file\n", src_name, dst_name);
		return 1;
	}
	int out = open(dst_name, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (out < 0) {
		fprintf(stderr, "cp: %s: %s\n", dst_name, errstr(errno));
		return 1;
	}
	int status = plain || st.type != PX_S_REG ? copy_plain(in, out) : copy_ring(in, out, st.size);
	if (close(out) < 0 && status == 0) {
		fprintf(stderr, "cp: %s: %s\n", dst_name, errstr(errno));
		status = 1;
	}
	close(in);
	return status;
}
