/* In-kernel self tests, linked only into the test kernel (KTEST=1): what the test files share. */
#ifndef KERNEL_KTEST_KTEST_H
#define KERNEL_KTEST_KTEST_H

/* The test kernel starts here: ktest_boot (kernel/main.h), defined in
 * kernel/ktest/ktest.c, runs the tests and powers off with the result. */

#include <stdbool.h>
#include <stdint.h>

struct future;
struct waker;

/* A waker that only counts its wakes (by value and by reference): for
 * polling a future by hand, outside any executor. */
extern const struct waker ktest_count_waker;
extern volatile unsigned ktest_count_wakes;

/* One pseudo-random generator for every in-kernel test, seeded from the
 * clock when the run starts, so each run tries different values. */
uint64_t ktest_rng(void);
/* Device interrupts taken so far by harts other than hart 0. */
uint64_t ktest_device_irqs_off_hart0(void);
void ktest_rng_seed(uint64_t seed);

/* In a test returning bool: fail with file, line and the condition. */
#define EXPECT(cond)                                                    \
	do {                                                            \
		if (!(cond)) {                                          \
			printf("    %s:%d: expected %s\n", __FILE__,      \
			       __LINE__, #cond);                        \
			return false;                                   \
		}                                                       \
	} while (0)

/* In a test returning bool: print why (indented, one line) and fail. */
#define KTEST_FAIL(...)                         \
	do {                                    \
		printf("    " __VA_ARGS__);         \
		printf("\n");                   \
		return false;                   \
	} while (0)

/* Length and content of the console input the runner feeds (scripts/
 * ktest.sh generates the same bytes): first KTEST_RX_LEN printable bytes
 * for uart_rx, then KTEST_FLOOD_LEN bytes of every value for console_flood. */
#define KTEST_RX_LEN 8192
static inline char ktest_rx_byte(unsigned i)
{
	return (char)(33 + (i * 31 + i / 94 + 7) % 94);
}

#define KTEST_FLOOD_LEN 65536
static inline char ktest_flood_byte(unsigned i)
{
	return (char)((i * 7 + i / 251) & 0xff);
}

/* A test that runs as a kernel task: start() returns a fresh future in
 * static storage; the runner awaits it (with a time limit), then ok()
 * checks what it recorded. */
struct ktest_async {
	const char *name;
	struct future *(*start)(void);
	bool (*ok)(void);
};
extern const struct ktest_async ktest_async_tests[]; /* ends with a NULL name */

/* A test that runs at boot, before the executor starts: true = passed. */
struct ktest_sync {
	const char *name;
	bool (*fn)(void);
};

/* The tests of the course labs (docs/labs/), one file per topic; each
 * table ends with a NULL name.  Both kinds run in the default suite. */
extern const struct ktest_sync ktest_exec_sync[];   /* kernel/ktest/exec.c: labs 2-4 */
extern const struct ktest_async ktest_exec_async[];
extern const struct ktest_sync ktest_drv_sync[];    /* kernel/ktest/drv.c: lab 5 */
extern const struct ktest_async ktest_drv_async[];
/* The one I/O layer (kernel/ktest/io.c): a test-only kind of file through
 * both doors. */
extern const struct ktest_async ktest_io_async[];
/* virtio-net and the stack (kernel/ktest/net.c); need scripts/ktest.sh's --net. */
extern const struct ktest_async ktest_net_async[];
/* Multi-hart tests (kernel/ktest/smp.c): run by "ktest=smp" (or by name),
 * not in the default suite. */
extern const struct ktest_async ktest_smp_tests[];

#endif /* KERNEL_KTEST_KTEST_H */
