/* ubench: user-level benchmarks (null syscall, pipe ping-pong, spawn+exit+wait) counted in guest instructions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"

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

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "-probe") == 0)
		return probe();
	if (argc >= 6 && strcmp(argv[1], "-pong") == 0)
		return pong(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));

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
