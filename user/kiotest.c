/* kiotest: the user half of the kernel's io_doors test: one file, both doors (syscalls and the ring). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"

/*
 * Started by ktest io_doors (kernel/ktest/io.c) with fd 3 a test-only
 * kind of file that neither kernel/syscall.c nor kernel/ring.c knows
 * about: 4096 bytes of memory, byte i initially KIO_BYTE(i), seekable.
 * Every check here drives it through both doors; the kernel side then
 * checks what the file saw.  Also: a blocking read() in a child and a
 * ring READ in this process wait on the same pipe, and each gets exactly
 * the bytes written for it.  Exit status 0 if everything held; a failed
 * check prints its line and exits 1.
 */
#define KIO_BYTE(i) ((unsigned char)((i) * 7 + 3))
#define FD 3

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c)) {                                             \
			printf("kiotest: line %d: %s\n", __LINE__, #c); \
			exit(1);                                        \
		}                                                       \
	} while (0)

static struct px_ring ring;

/* One SQE, submitted and waited for; its result. */
static long long ring_do(unsigned op, int fd, uint64_t off, const void *buf, uint32_t len)
{
	struct px_sqe *s = px_ring_get_sqe(&ring);
	CHECK(s != NULL);
	px_sqe_prep(s, op, fd, off, (uint64_t)(uintptr_t)buf, len, 42);
	CHECK(px_ring_submit(&ring, 1, PX_RING_FOREVER) == 1);
	struct px_cqe *c = px_ring_peek_cqe(&ring);
	CHECK(c != NULL && c->user_data == 42);
	long long res = c->res;
	px_ring_cq_advance(&ring, 1);
	return res;
}

static int pattern_at(const unsigned char *b, unsigned from, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (b[i] != KIO_BYTE(from + i))
			return 0;
	return 1;
}

/* Until the file says n reads wait at its slow offsets (its probe offset
 * 5000 reads as that many bytes). */
static void wait_slow(long n)
{
	char b[8];
	for (int i = 0; px_pread(FD, b, sizeof(b), 5000) != n; i++) {
		CHECK(i < 5000);
		px_sleep(1);
	}
}

static void file_doors(void)
{
	unsigned char buf[128];
	struct px_stat st;

	/* read() advances the file position; so does a ring READ at
	 * PX_OFF_CUR; pread and a ring READ at an offset do not. */
	CHECK(px_read(FD, buf, 100) == 100 && pattern_at(buf, 0, 100));
	CHECK(px_read(FD, buf, 50) == 50 && pattern_at(buf, 100, 50));
	CHECK(px_pread(FD, buf, 10, 1000) == 10 && pattern_at(buf, 1000, 10));
	CHECK(ring_do(PX_OP_READ, FD, PX_OFF_CUR, buf, 20) == 20 && pattern_at(buf, 150, 20));
	CHECK(ring_do(PX_OP_READ, FD, 2000, buf, 16) == 16 && pattern_at(buf, 2000, 16));
	CHECK(px_read(FD, buf, 1) == 1 && pattern_at(buf, 170, 1));
	/* Writes, both doors, then read back through the other door. */
	CHECK(px_write(FD, "AB", 2) == 2);                       /* at 171 */
	CHECK(ring_do(PX_OP_READ, FD, 171, buf, 2) == 2 && memcmp(buf, "AB", 2) == 0);
	CHECK(ring_do(PX_OP_WRITE, FD, 300, "XYZ", 3) == 3);
	CHECK(px_pread(FD, buf, 3, 300) == 3 && memcmp(buf, "XYZ", 3) == 0);
	CHECK(ring_do(PX_OP_WRITE, FD, PX_OFF_CUR, "cd", 2) == 2); /* at 173 */
	CHECK(px_pread(FD, buf, 4, 171) == 4 && memcmp(buf, "ABcd", 4) == 0);
	/* The end of the file: short, then nothing. */
	CHECK(px_pwrite(FD, "QRS", 3, 4094) == 2);
	CHECK(px_pread(FD, buf, 8, 4094) == 2 && memcmp(buf, "QR", 2) == 0);
	CHECK(px_pread(FD, buf, 8, 4096) == 0);
	CHECK(ring_do(PX_OP_READ, FD, 4100, buf, 8) == 0);
	/* The file's own checks (offset, buffer) reach both doors alike. */
	CHECK(px_pread(FD, (void *)8, 8, 0) == -PX_EFAULT);
	CHECK(ring_do(PX_OP_READ, FD, 0, (void *)8, 8) == -PX_EFAULT);
	CHECK(px_fstat(FD, &st) == 0 && st.type == PX_S_REG && st.size == 4096);
	CHECK(px_fsync(FD) == 0);
	/* Cancelling a waiting operation drops its future, on both doors:
	 * the file holds reads at offset 6000 and up Pending for ever.  A
	 * ring READ there is cancelled; a child blocked in pread there is
	 * killed.  The kernel side counts both drops. */
	struct px_sqe *s = px_ring_get_sqe(&ring);
	CHECK(s != NULL);
	px_sqe_prep(s, PX_OP_READ, FD, 6000, (uint64_t)(uintptr_t)buf, 8, 7);
	CHECK(px_ring_submit(&ring, 0, 0) == 1);
	wait_slow(1);
	s = px_ring_get_sqe(&ring);
	CHECK(s != NULL);
	px_sqe_prep(s, PX_OP_CANCEL, 0, 0, 7, 0, 8);
	CHECK(px_ring_submit(&ring, 2, PX_RING_FOREVER) == 1);
	CHECK(px_ring_cq_ready(&ring) == 2);
	for (uint32_t i = 0; i < 2; i++) {
		struct px_cqe *c = px_ring_cqe_at(&ring, i);
		CHECK(c->user_data == 7 || c->user_data == 8);
		CHECK(c->res == (c->user_data == 7 ? -PX_ECANCELED : 0));
	}
	px_ring_cq_advance(&ring, 2);
	wait_slow(0);
	const char *argv[] = { "kiotest", "slow", NULL };
	int pid = spawn("kiotest", argv), status;
	CHECK(pid > 0);
	wait_slow(1);
	CHECK(px_kill(pid) == 0);
	CHECK(px_wait(pid, &status) == pid);
	CHECK(PX_WAS_KILLED(status));
	wait_slow(0);
}

/* Child: one blocking read of the pipe; exit status: the letter it got
 * 40 of, or 1. */
static int reader(int fd)
{
	char buf[64];
	long n = px_read(fd, buf, sizeof(buf));
	if (n != 40)
		return 1;
	for (int i = 1; i < 40; i++)
		if (buf[i] != buf[0])
			return 1;
	return buf[0];
}

static void pipe_doors(void)
{
	int fds[2];
	char a[40], b[40], got[64];
	struct px_stat st;
	CHECK(px_pipe(fds) == 0);
	char fdarg[8];
	snprintf(fdarg, sizeof(fdarg), "%d", fds[0]);
	const char *argv[] = { "kiotest", "reader", fdarg, NULL };
	int pid = spawn("kiotest", argv);
	CHECK(pid > 0);
	struct px_sqe *s = px_ring_get_sqe(&ring);
	CHECK(s != NULL);
	px_sqe_prep(s, PX_OP_READ, fds[0], PX_OFF_CUR, (uint64_t)(uintptr_t)got, sizeof(got), 9);
	CHECK(px_ring_submit(&ring, 0, 0) == 1);
	/* Both readers wait (or will); the first to run takes all 40 As.
	 * Only once the pipe is empty again do the Bs go in, for the other. */
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	CHECK(px_write(fds[1], a, sizeof(a)) == 40);
	for (;;) {
		CHECK(px_fstat(fds[0], &st) == 0);
		if (st.size == 0)
			break;
		px_sleep(1);
	}
	CHECK(px_write(fds[1], b, sizeof(b)) == 40);
	struct px_cqe *c = NULL;
	while (!(c = px_ring_peek_cqe(&ring)))
		CHECK(px_ring_enter(0, 1, PX_RING_FOREVER) >= 0);
	CHECK(c->user_data == 9 && c->res == 40);
	px_ring_cq_advance(&ring, 1);
	for (int i = 1; i < 40; i++)
		CHECK(got[i] == got[0]);
	CHECK(got[0] == 'A' || got[0] == 'B');
	int status;
	CHECK(px_wait(pid, &status) == pid);
	CHECK(!PX_WAS_KILLED(status));
	CHECK(PX_EXIT_CODE(status) == (got[0] == 'A' ? 'B' : 'A'));
	px_close(fds[0]);
	px_close(fds[1]);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "reader") == 0)
		return reader(atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "slow") == 0) {
		char b[8];
		px_pread(FD, b, sizeof(b), 6000); /* waits until killed */
		return 2;
	}
	CHECK(px_ring_init(&ring, 8) == 0);
	file_doors();
	pipe_doors();
	CHECK(px_pwrite(FD, "OK", 2, 0) == 2); /* the verdict the kernel reads */
	printf("kiotest: OK\n");
	return 0;
}
