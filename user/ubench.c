/* ubench: user-level benchmarks (syscalls, pipes, spawn, the ring, the file system) counted in guest instructions. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"
#include <sys/stat.h>
#include <unistd.h>

/*
 * Booted as process 1 (`init=ubench`, scripts/bench.sh) under -icount
 * shift=0, where the instruction counter counts guest instructions
 * exactly, kernel and user alike.  Each figure is the median of RUNS
 * batches, per operation, printed as "bench NAME MEDIAN UNIT".
 *
 * The counter: riscv64 reads instret (the kernel sets scounteren.IR);
 * aarch64 reads PMU event counter 0 (INST_RETIRED, set up by the kernel)
 * if EL0 may (the kernel sets PMUSERENR_EL0.ER).  A probe child tries the read first; if
 * it is killed, ubench falls back to the monotonic clock, whose
 * nanoseconds under -icount shift=0 are guest instructions too (one
 * instruction per ns, as long as no hart idles, which none of these
 * loops lets happen), and says so with the unit "ns".
 *
 * `ubench -fs count|wall` measures the file system instead (bench_fs,
 * on the fresh image bench.sh attaches): `count` under -icount
 * shift=0,sleep=off gives instructions per operation (an idle hart adds
 * nothing while the disk works: with sleep=on the counter would also
 * run in real time while the hart sleeps); `wall`, in a boot without
 * -icount, gives guest wall time, where the disk takes real time: MB/s,
 * blocking reads vs the ring, cp async vs plain.
 */

#define RUNS 11
#define GETPID_BATCH 1000
#define PINGS 200
#define SPAWNS 20

static int use_counter;

static uint64_t read_counter(void)
{
#if defined(__riscv)
	uint64_t v;
	__asm__ volatile("rdinstret %0" : "=r"(v));
	return v;
#else
	uint64_t v;
	__asm__ volatile("isb; mrs %0, pmevcntr0_el0" : "=r"(v));
	return v & 0xffffffffu; /* a 32-bit counter: deltas are taken mod 2^32 */
#endif
}

static uint64_t clock_ns(void)
{
	struct px_timespec ts;
	px_clock_gettime(CLOCK_MONOTONIC_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now(void)
{
	return use_counter ? read_counter() : clock_ns();
}

static uint64_t since(uint64_t t0)
{
#if defined(__aarch64__)
	if (use_counter)
		return (read_counter() - t0) & 0xffffffffu;
#endif
	return now() - t0;
}

static uint64_t median(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static _Noreturn void die(const char *what, long err)
{
	printf("ubench: %s failed: %ld\n", what, err);
	exit(1);
}

/* Can this program read the instruction counter, and does it count? */
static int counter_works(void)
{
	static const char *const argv[] = { "ubench", "-probe", NULL };
	int st;
	long pid = px_spawn("ubench", argv);
	if (pid <= 0)
		die("spawn of the probe", pid);
	if (px_wait((int)pid, &st) != pid)
		die("wait for the probe", -1);
	return st == 0;
}

static int probe(void)
{
	uint64_t a = read_counter();
	for (volatile int i = 0; i < 100; i++)
		;
	return since(a) >= 100 ? 0 : 1;
}

/* -pong RFD WFD X Y: close our copies of the other ends X and Y (or
 * the ponger would never see EOF), then answer every byte until EOF. */
static int pong(int rfd, int wfd, int x, int y)
{
	char c;
	px_close(x);
	px_close(y);
	while (px_read(rfd, &c, 1) == 1)
		if (px_write(wfd, &c, 1) != 1)
			return 1;
	return 0;
}

static const char *unit(void)
{
	return use_counter ? "instructions" : "ns";
}

static void bench_getpid(void)
{
	uint64_t s[RUNS];
	for (unsigned r = 0; r < RUNS; r++) {
		uint64_t t0 = now();
		for (unsigned i = 0; i < GETPID_BATCH; i++)
			px_getpid();
		s[r] = since(t0) / GETPID_BATCH;
	}
	printf("bench getpid %llu %s\n", (unsigned long long)median(s, RUNS), unit());
}

static void bench_pipe(void)
{
	int down[2], up[2];
	char a[12], b[12], x[12], y[12];
	long err;
	if ((err = px_pipe(down)) != 0 || (err = px_pipe(up)) != 0)
		die("pipe", err);
	snprintf(a, sizeof(a), "%d", down[0]);
	snprintf(b, sizeof(b), "%d", up[1]);
	snprintf(x, sizeof(x), "%d", down[1]);
	snprintf(y, sizeof(y), "%d", up[0]);
	const char *argv[] = { "ubench", "-pong", a, b, x, y, NULL };
	long pid = px_spawn("ubench", argv);
	if (pid <= 0)
		die("spawn of the ponger", pid);
	uint64_t s[RUNS];
	char c = 'p';
	for (unsigned r = 0; r < RUNS; r++) {
		uint64_t t0 = now();
		for (unsigned i = 0; i < PINGS; i++) {
			if (px_write(down[1], &c, 1) != 1 || px_read(up[0], &c, 1) != 1)
				die("ping-pong", -1);
		}
		s[r] = since(t0) / PINGS;
	}
	px_close(down[1]);
	px_close(down[0]);
	px_close(up[0]);
	px_close(up[1]);
	px_wait((int)pid, NULL);
	printf("bench pipe_roundtrip %llu %s\n", (unsigned long long)median(s, RUNS), unit());
}

static void bench_spawn(void)
{
	/* `echo -n` with no words: starts, writes nothing, exits 0. */
	static const char *const argv[] = { "echo", "-n", NULL };
	uint64_t s[RUNS];
	for (unsigned r = 0; r < RUNS; r++) {
		uint64_t t0 = now();
		for (unsigned i = 0; i < SPAWNS; i++) {
			int st;
			long pid = px_spawn("echo", argv);
			if (pid <= 0)
				die("spawn", pid);
			if (px_wait((int)pid, &st) != pid || st != 0)
				die("wait", st);
		}
		s[r] = since(t0) / SPAWNS;
	}
	printf("bench spawn_exit_wait %llu %s\n", (unsigned long long)median(s, RUNS), unit());
}

/* NOP round trip through the ring: submit `batch` NOPs and wait for all
 * of them in one ring_enter, then reap; per NOP.  Every completion is
 * checked, so a broken ring cannot make this look fast. */
static void bench_ring_nop(struct px_ring *ring, unsigned batch, const char *name)
{
	uint64_t s[RUNS];
	for (unsigned r = 0; r < RUNS; r++) {
		uint64_t t0 = now();
		for (unsigned i = 0; i < 64; i++) {
			for (unsigned k = 0; k < batch; k++)
				px_sqe_prep(px_ring_get_sqe(ring), PX_OP_NOP, -1, 0, 0, 0, k + 1);
			long n = px_ring_submit(ring, batch, PX_RING_FOREVER);
			if (n != (long)batch || px_ring_cq_ready(ring) < batch)
				die("ring_enter", n);
			for (unsigned k = 0; k < batch; k++) {
				struct px_cqe *c = px_ring_cqe_at(ring, k);
				if (c->res != 0 || c->user_data != k + 1)
					die("NOP completion", (long)c->res);
			}
			px_ring_cq_advance(ring, batch);
		}
		s[r] = since(t0) / (64 * batch);
	}
	printf("bench %s %llu %s\n", name, (unsigned long long)median(s, RUNS), unit());
}

/* ---- the file system ----------------------------------------------------------*/

static struct px_ring fs_ring;
/* -fs wall: guest wall time only (a boot without -icount, where the
 * clock is the host's and the disk takes real time); -fs count:
 * instructions only (-icount shift=0,sleep=off: idle waits for the
 * disk add nothing to the count). */
static int fs_wall;
/* The counter runs on while the hart sleeps (riscv's instret under
 * -icount is the virtual clock); then the kernel's idle time is taken
 * off (PX_KSTAT_IDLE_NS).  aarch64's PMU counts instructions only. */
static int counter_has_idle;

struct fs_mark {
	uint64_t count, idle;
};

static struct fs_mark fs_mark(void)
{
	return (struct fs_mark){ now(), (uint64_t)px_kstat(PX_KSTAT_IDLE_NS) };
}

/* Instructions since m, the hart's sleep not counted. */
static uint64_t fs_count(struct fs_mark m)
{
	uint64_t d = since(m.count);
	if (counter_has_idle) {
		uint64_t idle = (uint64_t)px_kstat(PX_KSTAT_IDLE_NS) - m.idle;
		d = d > idle ? d - idle : 0;
	}
	return d;
}

/* Does the counter advance while the hart sleeps 20 ms? */
static int counter_counts_idle(void)
{
	uint64_t t0 = now();
	px_sleep(20);
	return since(t0) > 10000000;
}

#define FS_CHUNK (64 * 1024)
#define SEQ_SIZE (8u << 20)
#define RAND_SIZE (16u << 20)
#define RAND_READS 256
#define RAND_DEPTH 32
#define SMALL_OPS 50

static unsigned char fs_buf[RAND_DEPTH][4096], big[FS_CHUNK];

static void fs_make(const char *path, unsigned size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0)
		die("create", fd);
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	for (unsigned off = 0; off < size; off += FS_CHUNK)
		if (write(fd, big, FS_CHUNK) != FS_CHUNK)
			die("write", off);
	close(fd);
}

static void emit2(const char *name, uint64_t v, const char *u)
{
	printf("bench %s %llu %s\n", name, (unsigned long long)v, u);
}

/* Read the whole of path with read() of FS_CHUNK bytes. */
static void bench_seq_read(void)
{
	int fd = open("/seq", O_RDONLY);
	if (fd < 0)
		die("open /seq", fd);
	uint64_t w0 = clock_ns();
	struct fs_mark t0 = fs_mark();
	unsigned long total = 0;
	for (;;) {
		ssize_t n = read(fd, big, FS_CHUNK);
		if (n < 0)
			die("read /seq", n);
		if (n == 0)
			break;
		total += (unsigned long)n;
	}
	uint64_t ins = fs_count(t0), ns = clock_ns() - w0;
	close(fd);
	if (total != SEQ_SIZE)
		die("read /seq: short", (long)total);
	if (fs_wall)
		emit2("fs_seq_read_8m_kib_per_s",
		      (uint64_t)SEQ_SIZE / 1024 * 1000000000ull / (ns ? ns : 1), "KiB/s");
	else
		emit2("fs_seq_read_8m_per_kib", ins / (SEQ_SIZE / 1024), unit());
}

static uint64_t rand_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* RAND_READS reads of 4 KiB at random block offsets: one pread at a
 * time, then the ring with RAND_DEPTH READs in flight. */
static void bench_rand_read(void)
{
	int fd = open("/rand", O_RDONLY);
	if (fd < 0)
		die("open /rand", fd);
	uint64_t x = 88172645463325252ull;
	uint64_t w0 = clock_ns();
	struct fs_mark t0 = fs_mark();
	for (unsigned i = 0; i < RAND_READS; i++) {
		uint64_t off = rand_next(&x) % (RAND_SIZE / 4096) * 4096;
		if (pread(fd, fs_buf[0], 4096, (off_t)off) != 4096)
			die("pread", (long)off);
	}
	uint64_t ins = fs_count(t0), ns_block = clock_ns() - w0;
	uint64_t idle_block = (uint64_t)px_kstat(PX_KSTAT_IDLE_NS) - t0.idle;
	if (!fs_wall)
		emit2("fs_rand_read_4k_blocking", ins / RAND_READS, unit());

	struct px_ring *ring = &fs_ring;
	unsigned issued = 0, done = 0, inflight = 0;
	w0 = clock_ns();
	t0 = fs_mark();
	while (done < RAND_READS) {
		while (inflight < RAND_DEPTH && issued < RAND_READS) {
			uint64_t off = rand_next(&x) % (RAND_SIZE / 4096) * 4096;
			unsigned slot = issued % RAND_DEPTH;
			px_sqe_prep(px_ring_get_sqe(ring), PX_OP_READ, fd, off,
				    (uint64_t)(uintptr_t)fs_buf[slot], 4096, off + 1);
			issued++;
			inflight++;
		}
		long n = px_ring_submit(ring, 1, PX_RING_FOREVER);
		if (n < 0)
			die("ring_enter", n);
		struct px_cqe *c;
		while ((c = px_ring_peek_cqe(ring)) != NULL) {
			if (c->res != 4096)
				die("ring READ", (long)c->res);
			px_ring_cq_advance(ring, 1);
			done++;
			inflight--;
		}
	}
	ins = fs_count(t0);
	uint64_t ns_ring = clock_ns() - w0;
	uint64_t idle_ring = (uint64_t)px_kstat(PX_KSTAT_IDLE_NS) - t0.idle;
	close(fd);
	if (!fs_wall) {
		emit2("fs_rand_read_4k_ring32", ins / RAND_READS, unit());
		/* Guest time under -icount: each instruction 1 ns, the disk
		 * (read with O_DIRECT by make bench) its real time, and QEMU's
		 * device work on other host threads does not slow the guest
		 * down.  The wall boots below measure host time instead. */
		emit2("fs_rand_read_4k_blocking_icount_ns", ns_block / RAND_READS, "ns");
		emit2("fs_rand_read_4k_ring32_icount_ns", ns_ring / RAND_READS, "ns");
		emit2("fs_rand_read_ring32_icount_speedup_x100", ns_block * 100 / (ns_ring ? ns_ring : 1), "x/100");
		return;
	}
	emit2("fs_rand_read_4k_blocking_ns", ns_block / RAND_READS, "ns");
	emit2("fs_rand_read_4k_ring32_ns", ns_ring / RAND_READS, "ns");
	emit2("fs_rand_read_ring32_speedup_x100", ns_block * 100 / (ns_ring ? ns_ring : 1), "x/100");
	/* Where the wall time goes: the hart's idle time (waiting for the
	 * disk) per read, in each mode.  The ring can at best take the
	 * blocking loop's idle time away: the bound on its speedup is
	 * blocking / (blocking - idle). */
	emit2("fs_rand_read_4k_blocking_idle_ns", idle_block / RAND_READS, "ns");
	emit2("fs_rand_read_4k_ring32_idle_ns", idle_ring / RAND_READS, "ns");
	uint64_t busy = ns_block > idle_block ? ns_block - idle_block : 1;
	emit2("fs_rand_read_ring32_bound_x100", ns_block * 100 / busy, "x/100");
}

/* Small files: create + write 1 KiB + close + unlink, and mkdir +
 * rmdir, per cycle (medians of RUNS batches of SMALL_OPS).  Then where
 * the instructions go: the same cycles with each call timed on its own
 * (each part then includes one fs_mark/fs_count pair: two kstat calls). */
static void bench_small(void)
{
	enum { CREATE, WRITE, CLOSE, UNLINK, MKDIR, RMDIR, NPART };
	static const char *const names[NPART] = {
		"fs_small_create", "fs_small_write1k", "fs_small_close", "fs_small_unlink",
		"fs_small_mkdir", "fs_small_rmdir",
	};
	uint64_t s[RUNS], d[RUNS], part[NPART][RUNS];

	if (fs_wall)
		return;
	memset(big, 'x', 1024);
	for (unsigned r = 0; r < RUNS; r++) {
		struct fs_mark t0 = fs_mark();
		for (unsigned i = 0; i < SMALL_OPS; i++) {
			int fd = open("/small", O_WRONLY | O_CREAT | O_TRUNC, 0666);
			if (fd < 0 || write(fd, big, 1024) != 1024)
				die("create+write", fd);
			close(fd);
			if (unlink("/small") < 0)
				die("unlink", -1);
		}
		s[r] = fs_count(t0) / SMALL_OPS;
		t0 = fs_mark();
		for (unsigned i = 0; i < SMALL_OPS; i++)
			if (mkdir("/d", 0777) < 0 || rmdir("/d") < 0)
				die("mkdir+rmdir", -1);
		d[r] = fs_count(t0) / SMALL_OPS;
	}
	emit2("fs_create_write1k_close_unlink", median(s, RUNS), unit());
	emit2("fs_mkdir_rmdir", median(d, RUNS), unit());
	for (unsigned r = 0; r < RUNS; r++) {
		uint64_t sum[NPART] = { 0 };
		for (unsigned i = 0; i < SMALL_OPS; i++) {
			struct fs_mark m = fs_mark();
			int fd = open("/small", O_WRONLY | O_CREAT | O_TRUNC, 0666);
			sum[CREATE] += fs_count(m);
			m = fs_mark();
			if (fd < 0 || write(fd, big, 1024) != 1024)
				die("create+write", fd);
			sum[WRITE] += fs_count(m);
			m = fs_mark();
			close(fd);
			sum[CLOSE] += fs_count(m);
			m = fs_mark();
			if (unlink("/small") < 0)
				die("unlink", -1);
			sum[UNLINK] += fs_count(m);
			m = fs_mark();
			if (mkdir("/d", 0777) < 0)
				die("mkdir", -1);
			sum[MKDIR] += fs_count(m);
			m = fs_mark();
			if (rmdir("/d") < 0)
				die("rmdir", -1);
			sum[RMDIR] += fs_count(m);
		}
		for (int k = 0; k < NPART; k++)
			part[k][r] = sum[k] / SMALL_OPS;
	}
	for (int k = 0; k < NPART; k++)
		emit2(names[k], median(part[k], RUNS), unit());
}

/* cp of /seq (8 MiB) by the cp program: async (16 pieces of 32 KiB in
 * flight), -s (plain), and async with 4 and with 1 in flight. */
static void bench_cp(void)
{
	static const char *const async_argv[] = { "cp", "/seq", "/seq2", NULL };
	static const char *const plain_argv[] = { "cp", "-s", "/seq", "/seq2", NULL };
	static const char *const async4_argv[] = { "cp", "-j", "4", "/seq", "/seq2", NULL };
	static const char *const async1_argv[] = { "cp", "-j", "1", "/seq", "/seq2", NULL };
	const char *const *argvs[4] = { async_argv, plain_argv, async4_argv, async1_argv };
	static const char *const names[4] = { "fs_cp_8m_async", "fs_cp_8m_plain",
					       "fs_cp_8m_async_j4", "fs_cp_8m_async_j1" };
	uint64_t ns[4];

	for (int k = 0; k < 4; k++) {
		int st;
		uint64_t w0 = clock_ns();
	struct fs_mark t0 = fs_mark();
		long pid = px_spawn("/bin/cp", argvs[k]);
		if (pid <= 0 || px_wait((int)pid, &st) != pid || st != 0)
			die("cp", pid);
		uint64_t ins = fs_count(t0);
		ns[k] = clock_ns() - w0;
		unlink("/seq2");
		if (fs_wall)
			printf("bench %s_ns %llu ns\n", names[k], (unsigned long long)ns[k]);
		else
			emit2(names[k], ins, unit());
	}
	if (fs_wall)
		emit2("fs_cp_8m_async_speedup_x100", ns[1] * 100 / (ns[0] ? ns[0] : 1), "x/100");
}

static void bench_fs(void)
{
	struct px_statfs sf;
	if (px_statfs(&sf) != 0) {
		printf("ubench: no file system mounted: no fs_* figures\n");
		return;
	}
	fs_make("/seq", SEQ_SIZE);
	/* /rand, written after /seq, pushes /seq out of the cache (2 MiB) */
	fs_make("/rand", RAND_SIZE);
	bench_seq_read();
	bench_rand_read();
	bench_small();
	bench_cp();
	unlink("/seq");
	unlink("/rand");
}

/* ---- -net: the guest side of scripts/netbench.py ------------------------------
 *
 * `ubench -net` (process 1, a fresh disk, the user-mode network with the
 * host's ports forwarded) writes /www/1k.html (1024 bytes), starts
 * `httpd 80 /www`, `echod 7`, a sink on port 9 (reads every byte until
 * the end, `ubench -sink`) and a source on port 19 (sends NET_SRC_BYTES
 * and closes, `ubench -source`), says "ubench: net ready", and then
 * answers every console line with "netmark C W": C the user-readable
 * instruction counter (aarch64: its 32 bits), W the kernel's
 * PX_KSTAT_WFI_INSTRET (what C advanced while the hart slept in WFI).
 * The host drives the traffic between two marks and takes the
 * difference: every instruction the guest retired in between, kernel
 * and user, the marks' own console work included (the host subtracts
 * the median of empty intervals).  "q" ends the boot.
 */
#define NET_SRC_BYTES (1u << 20)
#define NET_IO 8192

static char net_buf[NET_IO];

static int net_listen(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct px_sockaddr_in a = { PX_AF_INET, (uint16_t)port, 0 };
	if (fd < 0 || bind(fd, &a) < 0 || listen(fd, 8) < 0)
		die("listen", port);
	return fd;
}

static int net_sink(void)
{
	int lfd = net_listen(9);
	for (;;) {
		int fd = accept(lfd, NULL);
		if (fd < 0)
			die("sink accept", fd);
		while (recv(fd, net_buf, sizeof(net_buf)) > 0)
			;
		close(fd);
	}
}

static int net_source(void)
{
	int lfd = net_listen(19);
	memset(net_buf, 'x', sizeof(net_buf));
	for (;;) {
		int fd = accept(lfd, NULL);
		if (fd < 0)
			die("source accept", fd);
		for (unsigned sent = 0; sent < NET_SRC_BYTES; sent += NET_IO)
			if (send(fd, net_buf, NET_IO) != NET_IO)
				break;
		close(fd);
	}
}

static void net_start(const char *const argv[])
{
	long pid = px_spawn(argv[0], argv);
	if (pid <= 0)
		die("spawn of a server", pid);
}

static int bench_net(void)
{
	if (!counter_works())
		die("-net without a user-readable instruction counter", 0);
	mkdir("/www", 0755);
	int fd = open("/www/1k.html", O_WRONLY | O_CREAT | O_TRUNC, 0666);
	for (unsigned i = 0; i < 1024; i++)
		net_buf[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	if (fd < 0 || write(fd, net_buf, 1024) != 1024)
		die("write /www/1k.html", fd);
	close(fd);
	static const char *const httpd[] = { "httpd", "80", "/www", "60", NULL };
	static const char *const echod[] = { "echod", "7", "60", NULL };
	static const char *const sink[] = { "ubench", "-sink", NULL };
	static const char *const source[] = { "ubench", "-source", NULL };
	net_start(httpd);
	net_start(echod);
	net_start(sink);
	net_start(source);
	px_sleep(200); /* the servers print their lines and listen */
	printf("ubench: net ready\n");
	char line[64];
	for (;;) {
		long n = read(0, line, sizeof(line));
		if (n <= 0 || line[0] == 'q')
			break;
		uint64_t w = (uint64_t)px_kstat(PX_KSTAT_WFI_INSTRET);
		uint64_t c = read_counter();
		printf("netmark %llu %llu\n", (unsigned long long)c, (unsigned long long)w);
	}
	printf("ubench: done\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "-probe") == 0)
		return probe();
	if (argc >= 6 && strcmp(argv[1], "-pong") == 0)
		return pong(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));

	if (argc >= 2 && strcmp(argv[1], "-sink") == 0)
		return net_sink();
	if (argc >= 2 && strcmp(argv[1], "-source") == 0)
		return net_source();
	if (argc >= 2 && strcmp(argv[1], "-net") == 0)
		return bench_net();
	if (argc >= 3 && strcmp(argv[1], "-fs") == 0) {
		fs_wall = strcmp(argv[2], "wall") == 0;
		use_counter = !fs_wall && counter_works();
		counter_has_idle = !fs_wall && counter_counts_idle();
		if (!fs_wall && !use_counter)
			printf("ubench: no user-readable instruction counter: fs figures in guest ns\n");
		long err = px_ring_init(&fs_ring, 64);
		if (err != 0)
			die("ring_setup", err);
		bench_fs();
		printf("ubench: done\n");
		return 0;
	}
	long fp0 = px_kstat(PX_KSTAT_FP_TRAPS);
	use_counter = counter_works();
	if (use_counter)
		printf("ubench: counting with the user-readable instruction counter\n");
	else
		printf("ubench: no user-readable instruction counter here; counting guest ns "
		       "(= instructions under -icount shift=0)\n");
	bench_getpid();
	bench_pipe();
	bench_spawn();
	struct px_ring ring;
	long err = px_ring_init(&ring, 64);
	if (err != 0)
		die("ring_setup", err);
	bench_ring_nop(&ring, 1, "ring_nop");
	bench_ring_nop(&ring, 32, "ring_nop_batch32");
	/* FP/SIMD first-use traps while we ran (us, the probe, pong and the
	 * ~220 echo children): 0 means each of these processes cost the
	 * kernel kproc_bytes only, none kproc_bytes + kproc_fp_bytes. */
	printf("bench user_fp_traps %ld traps\n", px_kstat(PX_KSTAT_FP_TRAPS) - fp0);
	printf("ubench: done\n");
	return 0;
}
