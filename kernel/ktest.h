/* In-kernel self tests (KTEST=1 builds): run at boot, power off with the result. */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

/* Runs the tests selected by bootargs ("ktest=NAME" for one, default all
 * non-destructive ones) and powers off: 0 if all passed, 1 otherwise. */
_Noreturn void ktest_main(void);

/* Length and content of the console input the runner feeds (scripts/
 * ktest.sh generates the same bytes). */
#define KTEST_RX_LEN 8192
static inline char ktest_rx_byte(unsigned i)
{
	return (char)(33 + (i * 31 + i / 94 + 7) % 94);
}

#endif /* KERNEL_KTEST_H */
