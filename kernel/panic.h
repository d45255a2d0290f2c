/* panic and kassert: stop the kernel loudly with a non-zero exit status. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

/* QEMU exit statuses the kernel uses (the harness reads them). */
#define EXIT_OK 0
#define EXIT_TESTS_FAILED 1
#define EXIT_FAULT 2  /* unexpected exception */
#define EXIT_PANIC 3  /* panic() or a failed kassert */

_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef NDEBUG
#define kassert(e) ((void)0)
#else
#define kassert(e) \
	((e) ? (void)0 : panic("assertion failed: %s (%s:%d)", #e, __FILE__, __LINE__))
#endif

#endif /* KERNEL_PANIC_H */
